//! Button action ids: which handler a click goes to. Every button the bot shows is made with
//! one of these, and `app` dispatches on them; the value a button carries is said beside each.

/// Value: a booking id.
pub const RELEASE: &str = "booking_release";
pub const EXTEND_1H: &str = "booking_extend_1h";
/// Value: a host name; books one GPU there for two hours, starting now.
pub const BOOK_NOW: &str = "book_now";
/// Reminder DMs about a booking; value: a booking id. The reply is the outcome alone.
pub const REMIND_EXTEND_1H: &str = "remind_extend_1h";
pub const REMIND_RELEASE: &str = "remind_release";
/// Value: `host/container id`; silences reminders about the container for a while.
pub const KEEP_CONTAINER: &str = "container_keep";
/// Value: a container id.
pub const STOP_CONTAINER: &str = "container_stop";
pub const REMOVE_CONTAINER: &str = "container_remove";
/// Value: `host/image id`; admins only (orphan images of the daily report).
pub const REMOVE_IMAGE: &str = "image_remove";
/// Value: `host:gpu`; books that GPU for two hours, starting now.
pub const BOOK_GPU_NOW: &str = "book_gpu_now";
/// The admins' DM about a claim request; value: the request id. Admins only.
pub const CLAIM_APPROVE: &str = "claim_approve";
pub const CLAIM_DENY: &str = "claim_deny";
/// Value: `<name>@<version> <host>`; removes that copy (the dataset's owner or an admin), as
/// `data rm` does (unused dataset copies of the daily report).
pub const REMOVE_DATASET_COPY: &str = "dataset_remove";
/// The DM offering GPUs to someone in the wait-list; value: the offer id. Its owner only.
pub const WAIT_ACCEPT: &str = "wait_accept";
pub const WAIT_DECLINE: &str = "wait_decline";
/// Offered by a launch whose image is on other hosts but not this one; value:
/// `<host> <image>`. Copies the image there, as `image copy` does.
pub const COPY_IMAGE: &str = "image_copy";
/// The App Home's "Book GPUs" button: opens the booking form.
pub const HOME_BOOK: &str = "home_book";
/// The admins' DM about an `image publish` request; value: the request id. Admins only.
pub const PUBLISH_APPROVE: &str = "publish_approve";
pub const PUBLISH_REJECT: &str = "publish_reject";
