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

## Images

image-saved = :floppy_disk: Saved `{ $container }` on `{ $host }` as `{ $image }` ({ $size }, made from `{ $parent }`). Launch it with `/maison launch { $host } { $image }`; `/maison who { $image }` shows where it came from.
image-not-yours-to-save = :lock: `{ $container }` on `{ $host }` belongs to { $owner }. Only its owner can save it as an image; nothing was saved.
image-unowned-not-saved = :grey_question: `{ $container }` on `{ $host }` has no owner (made outside Maison), so nobody can save it through Maison. If it is yours, `/maison claim { $container }` first.
image-built = :hammer_and_wrench: Built `{ $image }` on `{ $host }` from `{ $parent }` in { $seconds } s ({ $size }, context { $context }). Launch it with `/maison launch { $host } { $image }`; `/maison who { $image }` shows how it was made.
image-dockerfile-no-directory = :no_entry: `{ $dockerfile }` refused: you have no work or home directory in Maison's config, so there is nowhere you can build from. Ask an admin to add one to your `[[users]]` entry. Nothing was built.
image-dockerfile-not-yours = :no_entry: `{ $dockerfile }` is not in your own directories ({ $roots }), where builds come from. Nothing was built.
image-copy-progress = :package: Copying `{ $image }` to `{ $host }`: { $done } in { $seconds } s, { $rate }/s.
image-copy-progress-share = :package: Copying `{ $image }` to `{ $host }`: { $done } of about { $total } ({ $percent } %) in { $seconds } s, { $rate }/s.
image-build-progress = :hammer_and_wrench: Building `{ $image }` on `{ $host }` for { $seconds } s.
image-build-progress-step = :hammer_and_wrench: Building `{ $image }` on `{ $host }` for { $seconds } s: `{ $step }`
image-progress-done = :white_check_mark: `{ $image }` on `{ $host }` is done; the details are in the command's answer.
image-progress-failed = :warning: `{ $image }` on `{ $host }` did not finish; the command's answer says why.
image-already-had = :white_check_mark: `{ $host }` already had this image; it is now also called `{ $image }` there.
image-copied = :package: Copied `{ $image }` from `{ $source }` to `{ $host }`: { $size } in { $seconds } s ({ $rate }/s). Launch it with `/maison launch { $host } { $image }`.
image-copied-reused = { $reused } of its { $layers } layers were already on `{ $host }` and were not sent.
image-missing-here = :package: `{ $image }` is not on `{ $host }`, and agents never pull images; { $holders } has it. Copy it to `{ $host }` (agent to agent), then launch again; nothing was launched.
button-copy-image = Copy to { $host }
image-nothing-to-copy = :grey_question: No host has an image called `{ $image }`, so nothing was copied. `/maison images` lists them.
image-not-asked = (Not asked, unreachable: { $hosts }.)
image-several-called = :twisted_rightwards_arrows: `{ $image }` names different images on different hosts, so I do not know which to copy; nothing was copied. Name one by its id:
image-already-on = :white_check_mark: `{ $host }` already has `{ $image }` (`{ $id }`); nothing to copy.
image-unnamed-not-copied = :warning: Image `{ $image }` has no name, and a copy needs one to be found on the other host. Give it one where it is (for a container's changes, `/maison image save`).
image-bad-name = :warning: { $problem } Nothing was saved.
image-name-empty = An image name is needed, e.g. `alice/tuned:v1`.
image-name-too-long = `{ $name }` is too long (at most 255 characters).
image-name-malformed = `{ $name }` is not an image name: use lowercase letters, digits and `._-`, parts separated by `/`, then an optional `:tag` (letters, digits, `._-`, up to 128), e.g. `alice/tuned:v1`.
image-name-digest = `{ $name }` names a digest; give a name and a tag instead, e.g. `alice/tuned:v1`.
image-history-saved = made by saving `{ $container }`
image-history-built = made by building `{ $dockerfile }` (Dockerfile sha256 `{ $hash }`)
image-history-other = made by `{ $how }`
image-history-parent = (from `{ $parent }`)
image-history-booking = under booking #{ $booking }

## Help and parse errors


## Booking refusals and admin answers

admins-only = :no_entry: Only Maison admins can do that. Ask one of them (they are listed in the bot's config).
unknown-host = :grey_question: There is no host called `{ $name }`.
host-did-you-mean = Did you mean `{ $host }`?
hosts-listing = Hosts: { $hosts }.
hosts-none-yet = No hosts are configured yet.

taken = :no_entry_sign: `{ $host }` is taken for { $span }.
taken-holder = • GPU { $gpu } — { $user } until { $until } (#{ $id })
taken-a-moment-ago = • Someone booked it a moment before you.
taken-next-slot = Next free slot on `{ $host }`: { $span }.
taken-no-slot = `{ $host }` has no free slot of that length in the booking window.
free-now = Free now: { $hosts }.
free-now-host = `{ $host }` ({ $count } free)
free-now-nowhere = No other host has a free GPU right now.
extension-taken = :no_entry_sign: Can't extend: the GPUs are booked right after you.
extension-holder = • GPU { $gpu } — { $user } from { $from } (#{ $id })

nothing-free = :no_entry_sign: No host has { $what } for { $span }.
nothing-free-one = a free GPU
nothing-free-several = { $count } free GPUs
nothing-free-earliest = The earliest fit is `{ $host }` from { $from }: `/maison book { $host } { $length } at { $at }`.
nothing-free-ever = Nothing fits within the booking window either.

refused-drained = :construction: `{ $host }` is drained for maintenance: no new bookings. Try `/maison book any …` or another host.
refused-no-such-gpu = :grey_question: `{ $host }` has no GPU { $gpu }: its GPUs are 0–{ $last }. Example: `/maison book { $host }:0 2h`.
refused-no-gpus = :grey_question: `{ $host }` has no GPUs to book.
refused-not-enough-gpus = :grey_question: `{ $host }` has { $count } GPUs; you asked for { $wanted }.
refused-in-past = :hourglass: That time is already past. Bookings start now or later, e.g. `/maison book gpu01 2h` or `… at 14:00`.
refused-too-long = :straight_ruler: Bookings can last at most { $max }. Book that, then `/maison extend` later if you still need it.
refused-too-far-ahead = :calendar: Bookings can start at most { $max } ahead.
refused-user-limit = :scales: That would give you { $would_hold } GPUs at once; the limit is { $max } per person. Release one first (`/maison mine`).
refused-not-found = :grey_question: There is no booking #{ $id }. `/maison mine` lists yours.
refused-not-owner = :lock: Booking #{ $id } belongs to { $owner }. Only its owner or an admin can change it.
refused-already-ended = :grey_question: Booking #{ $id } has already ended or was cancelled.
refused-unknown-host = :grey_question: There is no host called `{ $host }`.
refused-taken = :no_entry_sign: That slot is taken.
refused-internal = :boom: Something went wrong on our side and nothing was changed.


## Fleet: status, launch, ps, stop, who

hosts-none-configured = No hosts are configured yet. Add `[[hosts]]` entries to the bot's config.
fleet-header = GPU fleet
fleet-legend = ■ booked now, □ free · { $free } GPU(s) free now · { $now } · `/maison status <host>` shows each GPU, who holds it and until when
fleet-summary = GPU fleet: { $free } GPU(s) free now.
board-booked = { $booked }/{ $total } booked
board-busy = { $pct } % busy
board-unbooked = :warning: { $gpus } in use without a booking
board-agent-silent = agent not answering
board-drained = _drained_
status-agent-seen = :large_green_circle: agent seen { $seen }
status-simulated = simulated GPUs
status-agent-unreachable = :red_circle: agent unreachable, last seen { $seen }
status-agent-not-polled = :white_circle: agent not polled yet
status-never-seen = never
status-host-one-gpu = { $count } GPU
status-host-gpus = { $count } GPUs
status-drained = :construction: drained
status-gpu-held = :red_circle: { $user } until { $until }
status-gpu-free-until = :large_green_circle: free until { $until } ({ $user } from then)
status-gpu-free = :large_green_circle: free
status-readings-stale = readings stale
status-in-use = in use now { $pct }%, { $memory }
status-memory-of = { $used } of { $total }
status-as-of = As of { $now } ({ $tz }).
status-free-summary = { $free } GPU(s) free now

fleet-host-drained = :construction: `{ $host }` is drained for maintenance: no new launches. Ask an admin, or use another host.
fleet-no-agent = :electric_plug: `{ $host }` has no Maison agent configured (`agent_url` in the bot's config), so containers there cannot be managed from Slack yet.
fleet-gpu-not-booked = :no_entry_sign: GPU { $gpu } is not in your booking #{ $id } on `{ $host }` ({ $gpus }). Launch on the GPUs you booked, or `/maison book { $host }:{ $gpu } 2h` first.
fleet-booking-required = :ticket: You have no running booking on `{ $host }`, and launching needs one so GPUs are never shared by surprise. Book first, then launch again.
fleet-book-now = Book { $host } now (1 GPU, 2h)
fleet-no-unix-mapping = :bust_in_silhouette: You have no Unix account mapping, so Maison cannot launch containers for you (they never run as root or as the image's user). Ask an admin to add to `maison.toml`:
fleet-no-booking-warning = :warning: You have no booking on `{ $host }`: the container runs without GPUs. `/maison book { $host } 2h` to get some.
fleet-no-gpu = no GPU
fleet-launching = :hourglass_flowing_sand: Starting `{ $name }` on `{ $host }` from `{ $image }` with { $gpus }… I'll post here when it is up.
fleet-launched = :rocket: `{ $name }` is running on `{ $host }` ({ $image }, { $gpus }).
fleet-launched-already = :recycle: `{ $name }` already exists on `{ $host }` from the same request: nothing new was started.
fleet-enter-hint = Enter it: `ssh { $host }` then `maison enter { $name }` (no Docker group needed).
fleet-launched-commands = `/maison ps` lists your containers · `/maison stop { $name }` · `/maison rm { $name }`
fleet-agent-unreachable = :electric_plug: The agent on `{ $host }` could not be reached ({ $error }). Nothing was changed; try again in a minute.
fleet-agent-uncallable = :electric_plug: The agent on `{ $host }` could not be called ({ $error }). Nothing was changed.
fleet-agent-silent = :electric_plug: The agent on `{ $host }` did not answer ({ $error }), so I cannot tell whether { $uncertain }.
fleet-uncertain-changed = `{ $name }` was changed. `/maison ps` shows how things stand; asking again is safe (the same request never starts a second container)
fleet-policy-refused = :shield: The agent on `{ $host }` refused `{ $name }` (rule `{ $rule }`): { $message }
fleet-still-running = :warning: `{ $name }` on `{ $host }` is still running: `/maison stop { $name }` first.
fleet-host-says = :grey_question: `{ $host }` says: { $message }
fleet-agent-failed = :warning: The agent on `{ $host }` could not do it: { $message }

owner-claimed = { $user } (claimed)
owner-none = _unowned_
ps-title-all = All containers
ps-title-mine = Your containers
ps-none-anywhere = No containers on the reachable hosts.
ps-none-mine = You have no containers. `/maison launch <host> <image>` starts one; `/maison ps --all` shows everyone's.
ps-line = { $state } `{ $name }` on `{ $host }` · { $image } · { $gpus } · { $status }{ $owner }
ps-more = … and { $count } more
ps-not-answering = :electric_plug: Not answering, so not listed: { $hosts }.
ps-as-of = As of { $now }.
ps-count = { $count } container(s)
no-such-container = :grey_question: No container called `{ $target }` on any host.
container-did-you-mean = Did you mean `{ $name }`?
no-such-container-hint = `/maison ps --all` lists them.
hosts-did-not-answer = ({ $hosts } did not answer.)
nothing-called = :grey_question: No container or image called `{ $target }` on any host. Use a container name, an id (at least 4 characters) or an image tag.
ambiguous-containers = :grey_question: `{ $target }` matches several containers; use a longer id:
ambiguous-container = • `{ $name }` on `{ $host }` (id `{ $id }`)
ambiguous-images = :grey_question: `{ $target }` matches images on several hosts; use the id:
ambiguous-image = • `{ $id }` on `{ $host }`
not-your-container = :lock: `{ $name }` on `{ $host }` belongs to { $owner }. Only its owner or an admin can stop or remove it — ask them in a thread.
unowned-container = :grey_question: `{ $name }` on `{ $host }` has no owner (made outside Maison). If it is yours, `/maison claim { $name }` first.
container-stopped = :stop_sign: Stopped `{ $name }` on `{ $host }`. `/maison rm { $name }` removes it.
container-removed = :wastebasket: Removed `{ $name }` from `{ $host }`.

who-container = *`{ $name }`* on `{ $host }` — { $status }
who-owner = • owner: { $owner }
who-created = • created { $when } ({ $how })
who-made-with-maison = launched with Maison
who-made-outside = made outside Maison
who-catalog-image = catalogue image
who-custom-image = custom image
who-plain-image = image
who-image-line = • { $source }: `{ $image }`
who-gpus-line = • { $gpus } · id `{ $id }`
who-booking = booking #{ $id }
who-no-booking = no booking
who-last-gpu = last used a GPU { $when }
who-no-gpu-use = no GPU use recorded
limits = Limits: { $processes } · { $memory } memory · { $cpus } · /dev/shm { $shm }
limits-docker-defaults = Limits: Docker defaults (made outside Maison)
limits-processes = { $count } processes
limits-no-process-limit = no process limit
limits-one-cpu = 1 CPU
limits-cpus = { $count } CPUs
who-image = *`{ $name }`* on `{ $host }` — { $size }
who-image-dangling = dangling
who-image-created = • created { $when } · id `{ $id }`
who-image-unused = unused
who-image-used-by = used by { $containers }
who-image-user = `{ $name }` ({ $owner })
who-image-catalog = • in the catalogue as { $versions }
who-image-made-from = • made from it: { $images }

hosts-title = Hosts
hosts-state-drained = :construction: drained
hosts-state-active = active
hosts-no-agent = no agent configured
hosts-agent-up = :large_green_circle: agent { $version } · Docker { $docker } · { $gpus } GPU(s)
hosts-agent-up-simulated = :large_green_circle: agent { $version } · Docker { $docker } · { $gpus } GPU(s) (simulated)
hosts-docker-unreachable = unreachable
hosts-agent-down = :red_circle: agent not answering ({ $error })
hosts-line = • *{ $host }* — { $count } GPUs booked by Maison · { $state } · { $agent }
hosts-none = No hosts configured.
hosts-footer = As of { $now }. `/maison host drain <host>` stops new bookings and launches there; `undrain` reopens it.
host-now-drained = :construction: `{ $host }` is drained: no new bookings or launches. Running containers and bookings are untouched.
host-open-again = :white_check_mark: `{ $host }` is open again for bookings and launches.

claim-kind-container = container
claim-kind-image = image
already-owned = :lock: `{ $label }` already belongs to { $owner }. Only unowned things can be claimed.
claimed = :raising_hand: You now own the { $kind } `{ $label }` on `{ $host }`. It shows as yours in `ps`, `who` and the reports; the claim is in the audit log.
claimed-by-uid = :raising_hand: You now own the container `{ $label }` on `{ $host }`: it was claimed because its processes run as your uid { $uid }. It shows as yours in `ps`, `who` and the reports; the claim is in the audit log.
claim-already-requested = :hourglass_flowing_sand: You already asked for the { $kind } `{ $label }` on `{ $host }` (request #{ $id }); it is waiting for an admin. You will get a DM when one of them decides.


## Projects

projects-none-admin = No projects yet. Add one with `/maison project add vision for "image models"`.
projects-none = No projects yet. An admin adds them with `/maison project add`.
projects-heading = *Projects*
project-your-default = _(your default)_
projects-removed = Removed (kept in past bookings): { $projects }
projects-default-is = Your bookings count for `{ $name }` unless they say `--project`.
projects-no-default = You have no default project: `/maison project default <project>` sets one.
project-was-removed = :warning: The project `{ $name }` was removed and takes no new bookings.
project-unknown = :warning: There is no project `{ $name }`.
project-did-you-mean = Did you mean `{ $name }`?
projects-none-yet = There are no projects yet; an admin adds them with `/maison project add`.
projects-known = Projects: { $projects }.
project-default-set = :white_check_mark: Your bookings now count for `{ $name }` unless they say `--project`.
project-default-cleared = :white_check_mark: You have no default project any more.
project-revived = :white_check_mark: `{ $name }` is back: it takes bookings again.
project-added = :white_check_mark: Added the project `{ $name }`. People book for it with `--project { $name }`.
project-exists = The project `{ $name }` already exists; nothing changed.
project-removed = :white_check_mark: Removed `{ $name }`: it takes no new bookings, and stays in past bookings and reports.


## Reminders and DMs

remind-in-minutes = in { $minutes } min
remind-booking-starts = :calendar: Your booking *#{ $id }* of `{ $host }` { $gpus } starts { $when } ({ $soon }), until { $end }.
remind-booking-starts-hint = Not needed any more? Release it so someone else can have the GPUs.
remind-booking-ends = :hourglass_flowing_sand: Your booking *#{ $id }* of `{ $host }` { $gpus } ends { $when } ({ $soon }).
remind-booking-ends-hint = After the end your containers keep running, but the GPUs can be booked by others.
remind-data-ready = :white_check_mark: `{ $label }` is ready on `{ $host }`: `launch { $host } <image> --data { $label }` mounts it at `/data/…`, read-only.
remind-data-copying = :truck: `{ $label }` is still being copied to `{ $host }`: { $progress }.
remind-data-missing = :warning: `{ $label }` is not on `{ $host }`, and no copy is running: `/maison data get { $label } { $host }` starts one.
remind-container-stopped = :wastebasket: Your container `{ $name }` on `{ $host }` has been stopped for { $days } days (since { $since }, image `{ $image }`). If you no longer need it, remove it to free the disk.
remind-container-idle = :stopwatch: Your container `{ $name }` on `{ $host }` holds { $gpus } but has not used them for { $hours } hours (since { $since }). Stop it if you are done, so the GPUs can go to someone else.
remind-keep-hint = Keep: no more reminders about it for { $days } days.
remind-unbooked = :warning: Your container `{ $name }` is using GPU { $gpu } on `{ $host }`, which nobody has booked. Book it so that nobody else is scheduled onto it.
remind-unbooked-hint = Books GPU { $gpu } of `{ $host }` for 2 hours from now; `/maison extend` adds time.
remind-intrusion-user = :no_entry: Your container `{ $name }` is using GPU { $gpu } on `{ $host }`, inside { $owner }'s booking *#{ $id }* (until { $end }). Please stop it or move to a free GPU (`/maison status`); { $owner } has been told.
remind-intrusion-owner = :warning: { $user }'s container `{ $name }` is using GPU { $gpu } on `{ $host }` during your booking *#{ $id }*. They have been told.
remind-intrusion-owner-unowned = :warning: An unowned container, `{ $name }`, is using GPU { $gpu } on `{ $host }` during your booking *#{ $id }*. An admin can stop it (`/maison stop { $name }`), or you can `/maison claim` it.
button-remind-extend = Extend 1h
button-remind-release = Release
button-keep-days = Keep { $days } days
button-remove = Remove
button-stop = Stop
button-book-now = Book it now
button-stop-mine = Stop my container


## Buttons

button-no-booking-id = That button carries no booking id ({ $value }).
button-no-gpu = That button carries no GPU ({ $value }).
button-no-container = That button carries no container ({ $value }); this message may be outdated.
button-no-image = That button carries no image ({ $value }); this message may be outdated.
button-no-claim-request = That button carries no claim request ({ $value }); this message may be outdated.
button-unknown = Unknown button `{ $action }`; this message may be outdated.
button-container-gone = :grey_question: That container is no longer on `{ $host }`: nothing to keep.
button-keep-not-yours = :lock: `{ $name }` belongs to { $owner }; only they or an admin can keep it.
button-keep-unowned = :lock: `{ $name }` has no owner; `/maison claim { $name }` it first, or ask an admin.
button-kept = :lock: Keeping `{ $name }` on `{ $host }`: no reminders about it until { $until }.
button-image-removed = :wastebasket: Removed image `{ $name }` from `{ $host }`.
button-image-not-removed = :no_entry: `{ $host }` did not remove `{ $name }`: { $error }
button-opening-form = Opening the booking form…


## Wait-list

wait-one-gpu = 1 GPU
wait-gpus = { $count } GPUs
wait-any-host = any host
wait-named-host = `{ $host }`
wait-wanted = { $gpus } on { $host } for { $length }{ $memory }
wait-wanted-memory = , each with at least { $size }
wait-predicted = predicted start { $when } on `{ $host }` (if bookings end on time)
wait-no-prediction = no predicted start within the booking window yet
wait-joined = :hourglass_flowing_sand: Nothing fits now, so you are *#{ $place }* in line for { $wanted } (request *{ $id }*).
wait-how-auto = When GPUs free up I book them for you and send you a DM.
wait-how-offer = When GPUs free up you get a DM with *Accept* / *Decline*; they are held for you for { $hold }.
wait-start-by = If it cannot start by { $when }, you leave the line.
wait-commands = `/maison queue` shows the line · `/maison unwait { $id }` leaves it.
wait-nobody = :white_check_mark: Nobody is waiting. `/maison book any 2h --wait` joins the line when nothing is free.
wait-header = Wait-list
wait-you = {" "}_(you)_
wait-line-offered = :gift: *{ $id }* { $user }{ $you } — { $wanted } · offered, answer by { $when }
wait-line-waiting = *#{ $place }* · request *{ $id }* { $user }{ $you } — { $wanted } · waiting { $waited } · { $predicted }
wait-under-a-minute = <1m
wait-order = The line is ordered by time waited, less a penalty for GPU-hours used in the last days; a smaller request may go first only if it ends before the slot kept for those ahead.
wait-count = { $count } request(s) waiting.
wait-offer = :gift: GPUs are free for your request *{ $id }*: `{ $host }` { $gpus } for { $span }. They are held for you until { $until }.
wait-offer-hint = Without an answer they go to the next in line and you go to the back of the line (after { $max } missed offers you leave it).
button-accept = Accept
button-decline = Decline
wait-auto-booked = :white_check_mark: Your turn came: booked `{ $host }` { $gpus } for { $span } (booking *#{ $id }*, from request { $request }).
wait-release-hint = `/maison release { $id }` gives them back early.
wait-accepted = :white_check_mark: Accepted: `{ $host }` { $gpus } is yours for { $span } (booking *#{ $id }*). `/maison release { $id }` gives it back early.
wait-declined = :wave: Declined: the GPUs go to the next in line, and request { $id } has left the line.
wait-withdrawn = :wave: Request { $id } ({ $wanted }) has left the line.
wait-withdrawn-offer = The GPUs held for you go to the next in line.
wait-lapsed-dropped = :zzz: The GPUs offered for request { $id } ({ $wanted }) went unanswered. After { $max } missed offers the request has left the line; `/maison book … --wait` joins it again.
wait-lapsed = :zzz: The GPUs offered for request { $id } ({ $wanted }) went unanswered and went to the next in line. You are back in line, at the end; the next offer comes as a DM too.
wait-expired = :hourglass: Request { $id } ({ $wanted }) could not start in time to end within what you asked, so it has left the line.
wait-no-such = :grey_question: There is no wait-list request or offer { $id }. `/maison queue` shows the line.
wait-not-yours = :lock: That is someone else's; only they or an admin can change it.
wait-already = :grey_question: That is already { $how }.
wait-already-accepted = accepted
wait-already-decided = decided
wait-went-wrong = :boom: Something went wrong on our side and nothing was changed.
wait-cannot = :no_entry_sign: { $reason }
wait-by-index = `--wait` waits for a number of GPUs (`--gpus 2`), not for GPUs by index.
wait-host-too-small = `{ $host }` cannot take { $gpus } GPUs.
wait-no-host-memory = No host has { $gpus } GPUs with at least { $size } each (as their agents report them).
wait-no-host-gpus = No host has { $gpus } GPUs: the largest has { $biggest }. Ask for fewer with `--gpus`.
wait-memory-short = `{ $host }`'s GPUs have { $have } each; you asked for at least { $want }. `/maison book any … --min-mem { $flag }` finds a host that has it.
wait-memory-unknown = `{ $host }`'s agent has not reported its GPU memory yet, so `--min-mem` cannot be checked there.


## The image catalogue

catalog-asked = :inbox_tray: Asked the admins to add `{ $image }` (`{ $id }` on `{ $host }`) to the catalogue as `{ $label }`. You'll get a DM when one of them decides; until then the name launches nothing.
catalog-no-admins = :no_entry: Nobody can approve `{ $label }`: the config names no admins (`[bookings] admins`). Nothing was asked.
catalog-house-name = :no_entry: `{ $name }` is a house image of the bot's config, which alone decides its versions. Pick another name with `as <name>`; nothing was asked.
catalog-version-exists = :no_entry: `{ $label }` is already in the catalogue (published by { $owner }). Give another version with `as { $name }:<version>`, or none for the next one; nothing was asked.
catalog-version-pending = :no_entry: `{ $label }` is already waiting for an admin (asked by { $owner }). Give another version with `as { $name }:<version>`; nothing was asked.
catalog-name-taken = :no_entry: The catalogue name `{ $name }` belongs to { $owner }, who first published it; only they or an admin add versions to it. Pick another name with `as <name>`; nothing was asked.
catalog-not-yours = :lock: `{ $image }` on `{ $host }` belongs to { $owner }; only its owner or an admin can publish it. Nothing was asked.
catalog-unowned = :grey_question: `{ $image }` on `{ $host }` has no owner (made outside Maison), so nobody can publish it through Maison. If it is yours, `/maison claim { $image }` first.
catalog-no-image = :grey_question: No host has an image called `{ $image }`, so nothing was published. `/maison images` lists them.
catalog-several = :twisted_rightwards_arrows: `{ $image }` names different images on different hosts, so I do not know which to publish; nothing was asked. Name one by its id:
catalog-needs-name = :grey_question: `{ $image }` has no name a catalogue name could come from; give one with `as <name>`, like `/maison image publish { $image } as resnet`. Nothing was asked.
catalog-unknown-project = :grey_question: There is no project `{ $project }`; `/maison project` lists them. Nothing was asked.
catalog-request-for-admins = :inbox_tray: { $requester } asks to add `{ $image }` (`{ $id }` on `{ $host }`) to the image catalogue as `{ $label }`.
catalog-request-description = Description: { $description }
catalog-request-project = For the project `{ $project }`.
catalog-request-context = Approving lets anyone run it with `/maison launch <host> { $name }`. Publish request #{ $request }; every decision is audited.
button-approve = Approve
button-reject = Reject
catalog-approved = :white_check_mark: Approved `{ $label }`: `/maison launch <host> { $name }` now runs it. { $requester } has been told.
catalog-rejected = :x: Rejected `{ $label }`; { $requester } has been told.
catalog-already-approved = :information_source: `{ $label }` was already approved by { $admin }; nothing changed.
catalog-already-rejected = :information_source: `{ $label }` was already rejected by { $admin }; nothing changed.
catalog-no-request = :grey_question: There is no publish request `{ $value }`; nothing changed.
catalog-approved-dm = :white_check_mark: { $admin } approved `{ $label }`: `/maison launch <host> { $name }` runs it on any host that has it, and offers a copy on the others.
catalog-rejected-dm = :x: { $admin } did not add `{ $label }` to the catalogue; your image `{ $image }` is unchanged.
catalog-deprecated = :wastebasket: Deprecated { $labels }. Launches still work, with a warning; copies nobody uses are listed as orphans { $days } days from now.
catalog-deprecated-use = :wastebasket: Deprecated { $labels }; use `{ $replacement }` instead. Launches still work, with a warning; copies nobody uses are listed as orphans { $days } days from now.
catalog-nothing-to-deprecate = :grey_question: `{ $target }` has no approved version left to deprecate; nothing changed. `/maison images` lists the catalogue.
catalog-deprecate-house = :no_entry: `{ $name }` is a house image of the bot's config: change or remove it there, and the versions it drops are deprecated at the next start. Nothing changed.
catalog-deprecate-not-yours = :lock: Only an admin or { $owner }, who published `{ $name }`, can deprecate it; nothing changed.
catalog-unknown-replacement = :grey_question: `{ $replacement }` is not an approved catalogue image, so it cannot replace `{ $target }`; nothing changed.
catalog-launch-deprecated = :warning: `{ $label }` is deprecated.
catalog-launch-deprecated-use = :warning: `{ $label }` is deprecated; use `{ $replacement }` instead.
catalog-launch-pending = :hourglass: `{ $name }` is waiting for an admin to approve it for the catalogue; nothing was launched.
catalog-the-config = the config

## The daily report

daily-header = GPU fleet report — { $day }
daily-text = GPU fleet report for { $day }: { $booked } booked, { $busy } busy, { $idle } GPU-h booked but idle.
daily-fleet = *Fleet:* { $hosts } hosts, { $gpus } GPUs ({ $capacity } GPU-h in the day)
daily-booked = • Booked *{ $hours }* GPU-h ({ $share } of capacity)
daily-busy = • Busy *{ $hours }* GPU-h ({ $share } of measured time), idle { $idle } GPU-h
daily-booked-idle = • Booked but idle *{ $hours }* GPU-h ({ $share } of booked time)
daily-more-hosts = … and { $count } more hosts not listed; the chart shows them all.
daily-legend = Busy = a GPU-minute averaging at least { $pct }% utilisation. Chart: hosts × hours ({ $tz }), darker = busier, grey = no readings.
daily-chart-title = GPU utilisation { $day }, hosts × hours
daily-table-title = *GPU-hours per host*
daily-column-host = host
daily-column-gpus = GPUs
daily-column-booked = booked
daily-column-busy = busy
daily-column-idle = idle
daily-column-booked-idle = booked-idle
daily-top-none = *Top users:* nobody booked or used a GPU.
daily-top-title = *Top users*
daily-top-line = { $rank }. { $user } — booked { $booked } GPU-h, used { $used } GPU-h (busy { $busy })
daily-and-more = … and { $count } more
daily-and-more-of = … and { $count } more ({ $total } in all)
daily-datasets-title = *Datasets*
daily-datasets-host = • `{ $host }`: { $copies ->
        [one] { $copies } copy
       *[other] { $copies } copies
    }{ $copying }, { $size } on disk
daily-datasets-copying = , { $count } being copied
daily-unused-title = *Copies unused for { $days } days or more* (other copies remain)
daily-unused-line = • `{ $label }` on `{ $host }`, { $size }, last used { $when } — { $owner }
button-remove-dataset = Remove { $label } from { $host }
daily-orphans-none = *Orphan images:* none — every image is in use, owned, or recent.
daily-orphans-title = *Orphan images:* { $size } reclaimable — { $hosts }
daily-orphan-dangling = dangling
daily-orphan-unowned = unused, unowned
daily-orphan-unused = unused, older than { $days } days
daily-orphan-deprecated = deprecated in the catalogue over { $days } days ago, unused
daily-orphan-owner = , owner { $owner }
daily-orphan-line = • `{ $host }` `{ $name }` { $size } — { $why }{ $owner }, built { $when }
button-remove-image = Remove { $name } ({ $host })
daily-orphans-note = Remove is for admins; the host's agent refuses an image that has come into use since.
daily-stale-none = *Stale containers:* none stopped for { $days } days or more.
daily-stale-title = *Stale containers* (stopped { $days } days or more): { $count }
daily-stale-unowned = unowned
daily-stale-kept = , kept until { $when }
daily-stale-line = • `{ $host }` `{ $name }` — stopped { $days } days, { $owner }{ $kept }

## The weekly capacity report, and its forecast

weekly-header = GPU capacity — { $from } to { $to }
weekly-text = GPU capacity { $from } to { $to }: { $verdict }
weekly-no-gpus = No bookable GPUs: nothing to judge.
weekly-enough = Capacity was enough: no booking was refused and some GPU was always free on all { $days } days.
weekly-over = Demand exceeded capacity on { $over } of { $days } days{ $hint }.
weekly-over-hint = , yet { $share }% of booked time was idle: reclaim idle bookings before buying
weekly-at = ({ $when })
weekly-fleet = • Fleet: { $hosts } hosts, { $gpus } GPUs, { $hours } hours
weekly-peak-demand = • Peak concurrent demand: *{ $peak } of { $gpus }* GPUs booked at once{ $at }
weekly-peak-use = • Peak use: { $busy } GPUs busy on average in one hour{ $at }
weekly-full = • Every GPU booked: *{ $full }* of { $hours } hours ({ $share })
weekly-refused = • Refused for lack of GPUs: *{ $refusals }* request(s) from { $users } person(s), { $asked } GPU-h asked
weekly-booked = • Booked { $booked } GPU-h, busy { $busy } GPU-h; booked but idle *{ $idle }* GPU-h ({ $share } of measured booked time)
weekly-forecast = *Forecast:* { $sentence }
weekly-wait-title = *Wait-list*
weekly-wait-served = • Got GPUs after waiting: *{ $served }* request(s), wait p50 { $p50 } · p90 { $p90 }
weekly-wait-unserved = • Left without GPUs: *{ $unserved }* request(s), *{ $unmet }* GPU-h unmet
weekly-wait-offers = • Offers accepted / declined / expired: { $accepted } / { $declined } / { $expired }
weekly-wait-idle = • GPU-minutes left free while someone waited: *{ $minutes }*
weekly-column-day = day
weekly-column-refused = refused
weekly-column-full = full hours
weekly-column-peak = peak
weekly-legend = Demand exceeds capacity on a day with a refused booking or an hour with every GPU booked. Busy from hourly rollups; booked-but-idle counted per host and hour. Days in { $tz }.
forecast-not-enough = Not enough history for a forecast yet: { $weeks } week(s) of data, { $needed } needed.
forecast-already-over = Peak demand already reaches the fleet's { $capacity } GPUs (based on { $weeks } weeks).
forecast-not-expected = At the current trend, peak demand stays below the fleet's { $capacity } GPUs for the next { $horizon } weeks (based on { $weeks } weeks).
forecast-crosses = At the current trend, peak demand passes the fleet's { $capacity } GPUs in the week of { $week } (80 % interval: { $interval }; based on { $weeks } weeks).
forecast-later = later

## The App Home tab and the booking form

home-book-button = Book GPUs
home-your-bookings = Your bookings
home-no-bookings = No current or upcoming bookings. *Book GPUs* above, or `/maison book gpu01 2h`.
home-waiting = Waiting for GPUs
home-wait-offered = offered: answer the DM by { $when }
home-wait-since = waiting since { $when }
home-wait-line = Request *{ $id }*: { $wanted } · { $state } · `/maison unwait { $id }` leaves the line
home-your-containers = Your containers
home-no-containers = None running. `/maison launch gpu01 pytorch` starts one on your booked GPUs.
home-container-line = `{ $name }` on `{ $host }` · { $image } · { $gpus } · enter it: `ssh { $host }` then `maison enter { $name }`
button-stop-container = Stop { $name }
home-fleet = Fleet
home-legend = ■ booked now, □ free · updated { $when } · `/maison status <host>` for each GPU
form-title = Book GPUs
form-submit = Book
form-close = Cancel
form-host = Host
form-host-option = { $host } — { $free } of { $total } GPUs free now
form-pick-host = Pick a host
form-gpus = GPUs
form-date = Start date
form-time = Start time
form-duration = Duration
form-duration-hint = 30m, 2h, 1h30m, 1d
form-note = Note (shown to others)
form-error-host = Pick a host.
form-error-gpus = A whole number of GPUs, at least 1.
form-error-date = Pick a day.
form-error-time = Pick a time, like 14:00.
form-error-duration = A duration like 30m, 2h, 1h30m or 1d.
form-error-past = That is already past: it is { $now } now.
form-error-gap = That time does not exist on that day (a clock change).
form-error-internal = Something went wrong on our side and nothing was booked; try again.
form-opening = Opening the booking form… (or type it: `/maison book gpu01 2h`, `/maison help book`)

## Claim requests: the requester, the admins' DM and decision

claim-subject = the { $kind } `{ $label }` on `{ $host }`
claim-needs-admins = :lock: `{ $label }` cannot be claimed directly: { $reason }. An admin would have to approve it, but none is configured (`bookings.admins`).
claim-requested = :hourglass_flowing_sand: Asked the admins to approve your claim on { $subject } (request #{ $id }): it could not be claimed directly because { $reason }. You will get a DM when one of them decides.
claim-request-for-admins = :raising_hand: { $requester } asks to own { $subject } (made outside Maison, id `{ $id }`). It could not be claimed directly because { $reason }.
button-deny = Deny
claim-request-context = Approving makes { $requester } its owner: they can then stop and remove it. Claim request #{ $id }; every decision is audited.
claim-approved-dm = :white_check_mark: { $admin } approved your claim: you now own { $subject }. It shows as yours in `ps`, `who` and the reports.
claim-denied-dm = :no_entry: { $admin } denied your claim on { $subject } (request #{ $id }). Ask them if you think it is yours.
claim-superseded-dm = :lock: Your claim on { $subject } (request #{ $id }) cannot take effect: it already belongs to { $holder }.
claim-decided-approved = :white_check_mark: Approved request #{ $id }: { $requester } now owns { $subject }. They have been told.
claim-decided-denied = :no_entry: Denied request #{ $id }: { $requester } does not get { $subject }. They have been told.
claim-decided-superseded = :lock: { $subject } already belongs to { $holder }, so request #{ $id } is closed without effect. { $requester } has been told.
claim-status-approved = approved
claim-status-denied = denied
claim-an-admin = an admin
claim-decided-when = {" "}{ $when }
claim-decided-already = :information_source: Request #{ $id } ({ $subject } for { $requester }) was already { $status } by { $admin }{ $when }. Nothing changed.
claim-no-request = :grey_question: There is no claim request #{ $id }; this message may be outdated.

## Datasets: copies, their progress, launches, and the DMs

data-registering = :hourglass_flowing_sand: Registering `{ $label }` from `{ $host }:{ $path }`. The agent on `{ $host }` is scanning it (hashing every file); I'll DM you when it is ready to copy and mount.
data-copying = :truck: Copying `{ $label }` ({ $size }) to `{ $host }` from { $sources }. I'll keep a progress message up to date in your DMs.
data-copying-evicted = To make room on `{ $host }`, I removed the copies there unused for longest: { $copies }.
data-not-staged = :warning: The booking stands, but the dataset is not being copied: { $why }
data-progress-left = { $percent } %, about { $left } left
data-progress-running = :truck: Copying `{ $label }` to `{ $host }` from { $sources }: { $present } of { $total }, { $progress }{ $rate }
data-progress-complete = :white_check_mark: `{ $label }` ready on `{ $host }` ({ $size } in { $took }, { $rate })
data-progress-failed = :warning: Copying `{ $label }` to `{ $host }` failed at { $percent } %: { $error }. `/maison data get { $label } { $host }` resumes it.
data-unknown-error = unknown error
data-not-ready-copying = :hourglass_flowing_sand: `{ $label }` is still being copied to `{ $host }`: { $progress }. Launch again when it is ready (your progress DM says so).
data-not-ready-failed = :warning: The copy of `{ $label }` on `{ $host }` stopped at { $percent } % ({ $error }). `/maison data get { $label } { $host }` resumes it.
data-not-ready-partial = :hourglass_flowing_sand: The copy of `{ $label }` on `{ $host }` is not complete: { $progress }.
data-not-ready-none = :no_entry_sign: `{ $host }` has no copy of `{ $label }`. `/maison data get { $label } { $host }` copies it there; then launch again.
data-mount = `{ $label }` at `{ $path }`
data-mounted = :books: Datasets (read-only): { $mounts }.
data-scanned = :white_check_mark: `{ $label }` is registered: { $size } in { $files } files on `{ $host }`. Copy it with `/maison data get { $label } <host>`, mount it with `launch … --data { $label }`.
data-scan-failed = :warning: Registering `{ $label }` from `{ $host }:{ $path }` failed: { $error }.
data-verified-ok = :white_check_mark: The copy of `{ $label }` on `{ $host }` is intact: { $checked } files hashed, all as registered.
data-verified-bad = :warning: The copy of `{ $label }` on `{ $host }` has { $bad } bad file(s) of { $checked }: { $files }. A copy with bad files is not mounted; `/maison data get { $label } { $host }` fetches them again.

## Datasets: the registry's other answers

data-no-copy = no complete copy
data-copies = { $count ->
        [one] { $count } copy
       *[other] { $count } copies
    }
data-already-registered = :no_entry_sign: `{ $label }` is already registered, and a version never changes. Register the new files under a new version, like `{ $name }@v2`; `/maison data where { $label }` shows where this one is.
data-not-owner = :lock: `{ $name }` belongs to { $owner }: only its owner or an admin can { $what }.
data-to-add-versions = add versions to it
data-to-remove = remove its copies
data-to-pin = pin its copies
data-to-unpin = unpin its copies
data-outside-work = :lock: `{ $path }` is not under your work directory `{ $work }`. You can register directories you own there; an admin registers anything else (under the datasets root).
data-no-work = :lock: You have no work directory in Maison's user mapping, so you can't register datasets yourself. Ask an admin to register it, or to add `work = "…"` to your `[[users]]` entry.
data-no-such-dataset = :grey_question: There is no dataset called `{ $name }`.{ $hint } { $listing }
data-did-you-mean = {" "}Did you mean `{ $suggestion }`?
data-none-registered = No dataset is registered yet: `/maison data add <name>@<version> <host>:<path>` registers one.
data-known = Datasets: { $names }.
data-no-such-version = :grey_question: `{ $name }` has no version `{ $version }`. Its versions: { $versions }.
data-ls-empty = No dataset is registered yet. `/maison data add imagenet@v1 gpu03:/srv/datasets/imagenet` registers a directory that is already on a host.
data-ls-header = Datasets
data-ls-owner = *{ $name }* · owner { $owner }
data-ls-context = `/maison data where <dataset>` lists its hosts · `/maison data get <dataset> <host>` copies it · `launch … --data <dataset>` mounts it read-only
data-ls-text = { $count } dataset(s) registered
data-ls-scanning = • `{ $version }` scanning on `{ $host }`{ $note }
data-ls-being-copied = , { $count } being copied
data-ls-version = • `{ $version }` { $size } in { $files } files · { $copies } ({ $hosts }){ $copying }{ $note }
data-where-head = *{ $label }* · { $size } in { $files } files · registered from `{ $host }:{ $path }`
data-where-head-scanning = *{ $label }* · registered from `{ $host }:{ $path }`
data-where-none = No complete copy yet.
data-where-complete = *Complete on*
data-where-partial = *In progress*
data-where-text = Where { $label } is
data-where-context = `/maison data get { $label } <host>` copies it · `launch <host> <image> --data { $label }` mounts it read-only at `{ $path }`
data-note-registered = registered at `{ $path }`
data-note-verifying = verifying now
data-note-mounted = mounted by { $count } container(s)
data-note-last-mounted = last mounted { $when }
data-note-pinned = :pushpin: pinned
data-note-verified = verified
data-note-bad = :warning: { $count } bad file(s) at the last verification
data-partial-scanning = `{ $host }` scanning: { $progress }
data-partial-failed = `{ $host }` failed at { $percent } %: { $error }
data-partial-copying = `{ $host }` copying{ $from }: { $progress }
data-partial-from = {" "}from { $hosts }
data-still-scanning = :hourglass_flowing_sand: `{ $label }` is still being scanned on `{ $host }`; it can be copied and mounted once the scan is done (its owner gets a DM).
data-already-there = :white_check_mark: `{ $host }` already has a complete copy of `{ $label }`: `launch { $host } <image> --data { $label }` mounts it.
data-already-copying = :hourglass_flowing_sand: `{ $label }` is already being copied to `{ $host }` for { $user }: { $progress }.
data-no-source = :no_entry_sign: No host has a complete copy of `{ $label }` to copy from.
data-source-silent = :electric_plug: `{ $label }` is complete only on { $hosts }, whose agent is not answering now. Try again when it is back (`/maison hosts` shows the agents).
data-no-copy-on = :grey_question: `{ $host }` has no copy of `{ $label }`. { $listing }
data-no-copy-anywhere = It has no copy anywhere yet.
data-copies-on = Its copies are on { $hosts }.
data-last-copy = :no_entry_sign: `{ $host }` holds the last complete copy of `{ $label }`, so I won't remove it. Copy it elsewhere first (`/maison data get { $label } <host>`).
data-copy-mounted = :no_entry_sign: The copy of `{ $label }` on `{ $host }` is mounted by { $count } container(s); remove them first (`/maison ps { $host } --all`).
data-copy-stopped = :wastebasket: Stopped copying `{ $label }` to `{ $host }`; what had arrived is deleted.
data-copy-removed = :wastebasket: Removed the copy of `{ $label }` from `{ $host }`.
data-copy-untracked = :wastebasket: Maison no longer tracks `{ $label }` on `{ $host }`; the registered directory itself is left as it was.
data-no-such-copy-button = :grey_question: This button names no dataset copy (`{ $value }`); `/maison data ls` shows what there is.
data-pinned = :pushpin: The copy of `{ $label }` on `{ $host }` is pinned: it is never removed to make room.
data-unpinned = :white_check_mark: The copy of `{ $label }` on `{ $host }` is no longer pinned.
data-not-complete-to-verify = :hourglass_flowing_sand: The copy of `{ $label }` on `{ $host }` is not complete yet; every chunk is checked as it arrives, and a complete copy can be verified again.
data-verifying = :mag: Verifying the copy of `{ $label }` on `{ $host }`: every file is hashed again. I'll DM you the result.
data-no-room = :no_entry_sign: `{ $host }` has no room for `{ $label }`: it needs { $needed } and { $available } is free above the disk's safety margin, even after removing the copies that may go. Remove something there (`/maison data where …`, `/maison data rm …`), or pick another host.
data-agent-no-space = :no_entry_sign: `{ $host }` has no room for `{ $label }`: { $message }
data-agent-in-use = :no_entry_sign: `{ $host }` keeps `{ $label }`: { $message }
data-agent-rule = :shield: The agent on `{ $host }` refused `{ $label }` (rule `{ $rule }`): { $message }
data-agent-conflict = :no_entry_sign: `{ $host }` says about `{ $label }`: { $message }
data-agent-failed = :warning: The agent on `{ $host }` could not do it for `{ $label }`: { $message }

## The monthly capacity report

monthly-header = GPU capacity — { $month }
monthly-text = GPU capacity { $month }: { $verdict }
monthly-waited = ; { $count } request(s) got GPUs after waiting (median { $median })
monthly-fleet = • Fleet: { $hosts } hosts, { $gpus } GPUs, { $capacity } GPU-h of capacity
monthly-booked = • Booked *{ $booked }* GPU-h ({ $share } of capacity), busy *{ $busy }* GPU-h ({ $busy_share })
monthly-idle = • Booked but idle: *{ $idle }* GPU-h ({ $share } of measured booked time)
monthly-peak = • Peak demand: *{ $peak } of { $gpus }* GPUs booked at once
monthly-unmet = • Unmet demand: *{ $unmet }* GPU-h ({ $refused } GPU-h refused, { $left } GPU-h left the wait-list without GPUs){ $waited }
monthly-energy = • Energy: *{ $energy }*{ $cost } ({ $unattributed } drawn with no container on the GPUs)
monthly-by-project = *By project*
monthly-by-person = *By person*
monthly-by-host = *By host*
monthly-column-project = project
monthly-column-host = host
monthly-column-booked = booked h
monthly-column-busy = busy h
monthly-others = { $count } others
monthly-no-container-line = • { $name }: { $energy }{ $cost } drawn by GPUs no container held
monthly-person-line = • { $name }: booked { $booked } GPU-h, busy { $busy } GPU-h, { $energy }{ $cost }
monthly-and-more = • and { $count } more
monthly-priced = Energy priced at { $price } { $currency } per kWh.
monthly-unpriced = Set `[reports] price_per_kwh` to see costs.
monthly-legend = Busy time and energy come from the GPUs' own readings; a person's use on a host is split over their projects there by booked hours. { $pricing } `maison-bot report export` writes the same numbers per day as CSV.
monthly-chart-title = Weekly peak GPU demand vs capacity, with the forecast ({ $month })
monthly-no-container = (no container)
monthly-no-project = (no project)

## The images listing

images-header = Images
images-on-no-host = on no host yet
images-on-hosts = on { $hosts }
images-published-by = `{ $image }` by { $user }{ $project }
images-project = , project `{ $project }`
images-line = • *{ $name }* { $version } { $made }{ $description } ({ $present })
images-deprecated-use = deprecated, use `{ $replacement }`
images-deprecated = deprecated
images-made-from = ↳ made from it: { $images }
images-more = { $count } more
images-other-versions = ; other versions: { $versions }
images-catalog-empty = *Catalogue*: empty (`[[images]]` in the bot's config, or `/maison image publish`).
images-catalog-title = *Catalogue* — `/maison launch <host> <name>[:<version>]`
images-waiting = Waiting for an admin: { $versions }.
images-custom-none = *Custom images in use*: none.
images-custom-title = *Custom images in use*
images-custom-line = • `{ $name }` on `{ $host }` ({ $size }) — in use by { $owners }{ $history }
images-history = ; { $line }
images-not-answering = :electric_plug: Not answering: { $hosts }.
images-derived = `{ $name }` ({ $owner })
images-derived-unowned = _unowned_

## A clicked line of a channel post

settled-removed = :white_check_mark: `{ $item }` on `{ $host }`: removed by { $user }.
settled-kept = :white_check_mark: `{ $item }` on `{ $host }`: kept by { $user }.
who-image-made-from-item = `{ $name }` (`{ $host }`)

## report what-if: the last weeks' demand replayed on a larger fleet

whatif-addition = { $hosts ->
        [one] 1 more host
       *[other] { $hosts } more hosts
    } of { $gpus ->
        [one] 1 GPU
       *[other] { $gpus } GPUs
    }
whatif-header = What if: { $addition }
whatif-last-weeks = { $weeks ->
        [one] the last week
       *[other] the last { $weeks } weeks
    }
whatif-median-same = the median wait would have stayed at { $now }
whatif-median-changed = the median wait would have been { $after } instead of { $now }
whatif-nothing-added = Adding no GPUs changes nothing: { $weeks } left { $unmet } GPU-hours unmet.
whatif-all-met = The fleet as it is met every request of { $weeks }{ $wait }.
whatif-all-met-wait = ; with { $addition } { $median }
whatif-unmet = With { $addition }, { $weeks } would have left { $left } GPU-hours unmet instead of { $now }{ $wait }.
whatif-unmet-none = With { $addition }, { $weeks } would have left no GPU-hours unmet instead of { $now }{ $wait }.
whatif-unmet-wait = , and { $median }
whatif-gpus = • GPUs: *{ $now }* now → *{ $after }*
whatif-unmet-line = • Unmet: *{ $now }* GPU-h → *{ $after }* GPU-h
whatif-left-line = • Requests left without GPUs: *{ $now }* → *{ $after }*
whatif-served-line = • Requests served: { $now } → { $after }
whatif-served = *{ $served }* of { $requests } ({ $share })
whatif-wait-line = • Wait-list wait p50: { $now50 } → { $after50 } · p90: { $now90 } → { $after90 }
whatif-assumptions = Replays { $weeks }: bookings that happened stay where they were; refused requests get GPUs only at the time they asked for, wait-list requests at the earliest time before their deadline, in the order they were asked, on the host they named or a new one (`book any`: any host). Not counted: demand nobody asked for because the fleet looked full, GPU models and memory, the wait-list's fair-share order.
whatif-wait-minutes = { $minutes } min
whatif-wait-hours = { $hours } h
whatif-wait-days = { $days } d

## Why a claim needs an admin (the requester and each admin read it in their language)

claim-reason-image = images have no processes that could show whose they are
claim-reason-no-mapping = { $member } has no Unix account mapping (`[[users]]`), so there is no uid to compare its processes with
claim-reason-no-agent = `{ $host }` has no agent to ask
claim-reason-agent-failed = the agent on `{ $host }` could not say who its processes run as ({ $error })
claim-reason-not-running = it is not running, so no process shows whose it is
claim-reason-no-processes = no processes were found in it
claim-reason-other-uids = its processes run as uid { $uids }, not as { $member }'s uid { $uid }

## `/maison jobs`: the scheduled jobs, their runs and the outbox (admins)

job-metrics-retention = Deletes GPU minute rows older than 30 days (hourly rollups are kept)
job-outbox-retention = Deletes outbox messages sent more than 30 days ago (queued and parked ones stay)
job-daily-report = Posts yesterday's GPU report (hours booked/busy/idle, heat map, orphan images, stale containers)
job-weekly-capacity = Posts the capacity report of the last 7 days (peak demand, fully booked hours, refusals)
job-monthly-capacity = Posts last month's capacity report on the month's first working day (use, idle, unmet demand, energy and cost by project, forecast chart)
job-reminders = DMs owners: bookings starting/ending soon, stale or idle containers, GPUs used without a booking
job-dataset-margin = Keeps each host's free-space margin: removes the least recently used dataset copies that may go
jobs-header = Scheduled jobs
jobs-next = next { $when }
jobs-not-scheduled = not scheduled
jobs-last-run = Last run: { $last }
jobs-never-run = never run
jobs-by-hand = { $when } (by hand)
jobs-last-ok = { $when }, ok: { $detail }
jobs-last-failed = { $when }, failed: { $detail }
jobs-last-unfinished = { $when }, started, not finished
jobs-schedules-in = Schedules are in { $tz }. `/maison jobs run <job>` runs a job now.
jobs-outbox = *Outbox*: { $state }
jobs-outbox-state = { $pending } waiting, { $parked } parked.
jobs-outbox-state-oldest = { $pending } waiting, { $parked } parked. The oldest has waited { $minutes } min.
jobs-parked-to-channel = to <#{ $id }>
jobs-parked-to-user = DM to <@{ $id }>
jobs-last-parked = Last parked: message #{ $id } ({ $to }): `{ $error }`. Fix the cause, then run `maison-bot jobs requeue`.
jobs-count = { $count } scheduled jobs
jobs-run-requested = Running `{ $job }` now; you will see how it went when it is done.
jobs-run-joined = `{ $job }` was already asked for this second; it runs once, and you will see how it went here too.
jobs-run-joined-cli = `{ $job }` was already asked for this second from the command line; it runs once, and you will see how it went here too.
jobs-run-joined-by = `{ $job }` was already asked for this second by { $user }; it runs once, and you will see how it went here too.
jobs-ran = `{ $job }` ran: { $detail }
jobs-failed = `{ $job }` failed: { $detail }
jobs-unknown = There is no job called `{ $job }`. Jobs: { $names }.
jobs-unknown-nearest = There is no job called `{ $job }`. Did you mean `{ $nearest }`? Jobs: { $names }.
