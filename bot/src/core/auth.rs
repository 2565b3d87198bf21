//! Who may run which command, decided in one place before dispatch.
//!
//! Roles are coarse on purpose: a command is either for everyone or for admins. Finer rules
//! that depend on the data ("only the owner may release this booking", "members register
//! datasets only under their own work root") are enforced where the data is read, inside the
//! same transaction as the change.

use maison_command::{Command, ProjectCommand};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Any member of the workspace.
    Member,
    /// Listed in `bookings.admins`.
    Admin,
}

/// The role a command needs. The `match` is exhaustive, so a new command cannot be added
/// without deciding who may run it. (Stopping or removing someone else's container is refused
/// by the handler, which knows the owner; admins may.)
pub fn required_role(command: &Command) -> Role {
    match command {
        Command::Help { .. }
        | Command::Status { .. }
        | Command::Book(_)
        | Command::BookAny { .. }
        | Command::Mine
        | Command::Cancel { .. }
        | Command::Release { .. }
        | Command::Extend { .. }
        | Command::Launch(_)
        | Command::Ps { .. }
        | Command::Stop { .. }
        | Command::Rm { .. }
        | Command::Who { .. }
        | Command::Claim { .. }
        | Command::Images { .. }
        | Command::Report { .. }
        | Command::WhatIf(_)
        | Command::Project(ProjectCommand::Ls | ProjectCommand::Default { .. })
        | Command::Data(_)
        | Command::Image(_)
        | Command::Lang { .. }
        | Command::Queue
        | Command::Unwait { .. } => Role::Member,
        Command::Hosts
        | Command::HostDrain { .. }
        | Command::HostUndrain { .. }
        | Command::Jobs(_)
        | Command::Project(ProjectCommand::Add { .. } | ProjectCommand::Rm { .. }) => Role::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use maison_command::{ParseContext, parse};

    #[test]
    fn every_command_has_a_role() {
        let ctx = ParseContext {
            now: Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap(),
            tz: chrono_tz::UTC,
        };
        let lines = [
            "help",
            "status",
            "status gpu01",
            "book gpu01 2h",
            "book any 1h",
            "mine",
            "bookings",
            "cancel 1",
            "release",
            "release 3",
            "release gpu01",
            "extend 1 1h",
            "report",
            "report week",
            "report month",
            "report what-if +4 gpus",
            "project",
            "project default vision",
            "book gpu01 2h --project vision",
        ];
        for line in lines {
            let command = parse(line, &ctx).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(required_role(&command), Role::Member, "{line}");
        }
        let member_fleet = [
            "launch gpu01 pytorch",
            "ps",
            "ps gpu01 --all",
            "stop web",
            "rm web",
            "who web",
            "claim web",
            "images",
            "images gpu01",
            "data ls",
            "data add imagenet@v1 gpu01:/srv/datasets/imagenet",
            "data get imagenet gpu02",
            "data rm imagenet gpu02",
        ];
        for line in member_fleet {
            let command = parse(line, &ctx).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(required_role(&command), Role::Member, "{line}");
        }
        for line in [
            "hosts",
            "host drain gpu01",
            "host undrain gpu01",
            "jobs",
            "jobs run daily_report",
            "project add vision",
            "project rm vision",
        ] {
            let command = parse(line, &ctx).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(required_role(&command), Role::Admin, "{line}");
        }
    }
}
