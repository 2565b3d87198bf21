# Maison's messages in English, the fallback language: every message is defined here first.
# Japanese (../ja/maison-bot.ftl) must define exactly the same ids, attributes and variables;
# a test in bot/src/core/i18n.rs checks it both ways.

## Days and times

day-today = today
day-tomorrow = tomorrow

## Bookings

booked = :white_check_mark: Booked `{ $host }` { $gpus } for { $span } (booking *#{ $id }*).
    .hint = `/maison release { $id }` ends it early · `/maison extend { $id } 1h` adds an hour · `/maison mine` lists your bookings

booking-cancelled = :wastebasket: Cancelled booking #{ $id } (`{ $host }` { $gpus }, { $start }).
booking-released = :wave: Released booking #{ $id }: `{ $host }` { $gpus } is free again.
booking-extended = :stopwatch: Extended booking #{ $id } by { $by }: `{ $host }` { $gpus } is yours until { $end }.
nothing-to-release-on = You have no running booking on `{ $host }`. `/maison mine` lists your bookings.
nothing-to-release = You have no running booking. `/maison mine` lists your bookings.

booking-running = _(running)_
booking-offered = _(offered from the wait-list: Accept in your DM by { $until })_
button-release = Release #{ $id }
button-extend-1h = Extend #{ $id } 1h
which-to-release = You have several running bookings; say which one, e.g. `/maison release 12`:
my-bookings-none = You have no current or upcoming bookings. Try `/maison book gpu01 2h`.
my-bookings-header = Your bookings
my-bookings-count = You have { $count } booking(s).

booking-announcement = :calendar: { $user } booked `{ $host }` { $gpus } for { $span }{ $note }

## Language

lang-set = :speech_balloon: From now on I answer you in English. `/maison lang auto` follows your Slack language again.
lang-auto = :speech_balloon: I follow your Slack language again: English for you now. `/maison lang ja` or `/maison lang en` fixes one.
lang-current-chosen = :speech_balloon: I answer you in English, as you chose with `/maison lang`. `/maison lang auto` follows your Slack language instead.
lang-current-auto = :speech_balloon: I answer you in English, following your Slack language. `/maison lang ja` or `/maison lang en` fixes one.

## When something else is wrong

working-on-it = :hourglass_flowing_sand: Working on it… the answer will follow here.
database-unavailable = :hourglass: The database is not answering right now (it may be restarting), so nothing was changed. Please try again in a minute.
database-disk-full = :floppy_disk: The disk that holds Maison's database is full, so nothing was changed. Ask an admin to free space on it; your request will work again as soon as there is room.
internal-error = :boom: Something went wrong on our side and nothing was changed. Please try again; if it keeps failing, give an admin this request id: `{ $request_id }`.

## Help and parse errors


## Booking refusals and admin answers


## Fleet: status, launch, ps, stop, who


## Projects


## Reminders and DMs


## Buttons


## Wait-list

