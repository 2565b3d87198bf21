//! sea-orm entities, one module per table (schema in the `maison-migrations` crate).

pub mod host {
    use sea_orm::entity::prelude::*;

    use crate::core::fleet::{Host, HostState};

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "hosts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub gpu_count: i32,
        pub agent_url: Option<String>,
        /// `active` or `drained`.
        pub state: String,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl From<Model> for Host {
        fn from(row: Model) -> Self {
            Host {
                gpu_count: row.gpu_count.max(0) as u32,
                state: HostState::parse(&row.state),
                name: row.name,
            }
        }
    }
}

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub team_id: String,
        pub slack_user_id: String,
        pub display_name: String,
        pub tz: String,
        pub locale: Option<String>,
        pub profile_fetched_at: i64,
        /// Chosen with `/maison lang` (`en`, `ja`); `None` follows the Slack locale.
        pub language: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod booking {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bookings")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        pub host: String,
        /// Comma-separated GPU indexes, for display; `booking_slots` is authoritative.
        pub gpus: String,
        pub start_at: i64,
        pub end_at: i64,
        pub note: Option<String>,
        pub created_at: i64,
        pub cancelled_at: Option<i64>,
        pub released_at: Option<i64>,
        /// Set while the booking is a wait-list offer not yet accepted: it holds its GPUs
        /// until then.
        pub held_until: Option<i64>,
        /// The project the GPUs serve (a name from `projects`), for the reports.
        pub project: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        /// Who booked: lets a list of bookings read its users in the same statement.
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id"
        )]
        User,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod booking_slot {
    use sea_orm::entity::prelude::*;

    /// One GPU of one booking. Overlap is checked (and, on PostgreSQL, constrained) per slot.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "booking_slots")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub booking_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub gpu: i32,
        pub host: String,
        pub start_at: i64,
        pub end_at: i64,
        pub active: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod audit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: i64,
        pub actor: String,
        pub action: String,
        pub target: String,
        pub outcome: String,
        pub request_id: String,
        pub detail: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod slack_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "slack_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub received_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod claim {
    use sea_orm::entity::prelude::*;

    use crate::core::fleet::{Claim, ClaimKind};

    /// Ownership of a container or image made outside Maison, taken with `claim`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "claims")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub host: String,
        /// `container` or `image`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub object_id: String,
        pub owner: String,
        pub owner_name: String,
        pub claimed_at: i64,
        pub request_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl From<Model> for Claim {
        fn from(row: Model) -> Self {
            Claim {
                kind: ClaimKind::parse(&row.kind),
                host: row.host,
                object_id: row.object_id,
                owner: row.owner,
                owner_name: row.owner_name,
                claimed_at: row.claimed_at,
                request_id: row.request_id,
            }
        }
    }
}

pub mod claim_request {
    use sea_orm::entity::prelude::*;

    use crate::core::fleet::{ClaimKind, ClaimRequest};

    /// A member's request to own something they could not prove is theirs, for an admin to
    /// approve or deny.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "claim_requests")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// `container` or `image`.
        pub kind: String,
        pub host: String,
        pub object_id: String,
        /// A readable name of the thing (container name or image tag).
        pub label: String,
        pub requester: String,
        pub requester_name: String,
        /// Why it could not be claimed directly, for the admins.
        pub reason: String,
        /// `pending`, `approved` or `denied`.
        pub status: String,
        pub decided_by: Option<String>,
        pub created_at: i64,
        pub decided_at: Option<i64>,
        pub request_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl From<Model> for ClaimRequest {
        fn from(row: Model) -> Self {
            ClaimRequest {
                id: row.id,
                kind: ClaimKind::parse(&row.kind),
                host: row.host,
                object_id: row.object_id,
                label: row.label,
                requester: row.requester,
                requester_name: row.requester_name,
                reason: row.reason,
                status: row.status,
                decided_by: row.decided_by,
                created_at: row.created_at,
                decided_at: row.decided_at,
                request_id: row.request_id,
            }
        }
    }
}
