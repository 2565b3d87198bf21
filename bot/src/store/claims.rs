//! Claims (ownership taken of things made outside Maison), claim requests for the admins to
//! decide, and host administration.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::{claim, claim_request};
use super::sql::stmt;
use super::{AuditEntry, Db};
use crate::core::fleet::{
    Claim, ClaimKind, ClaimRequest, Decision, DecisionOutcome, RequestOutcome,
};
use crate::core::message::OutgoingMessage;

/// A claim to record.
#[derive(Debug, Clone)]
pub struct NewClaim<'a> {
    pub host: &'a str,
    pub kind: ClaimKind,
    pub object_id: &'a str,
    /// For the audit log: a readable name of the thing.
    pub label: &'a str,
    pub owner: &'a str,
    pub owner_name: &'a str,
    /// Who made the claim happen: the owner, or the admin who approved their request.
    pub actor: &'a str,
    /// Why it was allowed (audited): "admin", "processes run as uid 1000", an approval.
    pub grounds: String,
    pub request_id: &'a str,
}

/// A request to own something, for the admins to decide.
#[derive(Debug, Clone)]
pub struct NewClaimRequest<'a> {
    pub host: &'a str,
    pub kind: ClaimKind,
    pub object_id: &'a str,
    pub label: &'a str,
    pub requester: &'a str,
    pub requester_name: &'a str,
    /// Why the requester could not claim it directly.
    pub reason: &'a str,
    pub request_id: &'a str,
}

impl Db {
    /// Records a claim unless someone already holds one; returns the holder's claim otherwise.
    pub async fn claim(&self, new: &NewClaim<'_>, now: i64) -> Result<Result<(), Claim>, DbErr> {
        let txn = self.begin_write().await?;
        let outcome = insert_claim(&txn, new, now).await?;
        if outcome.is_ok() {
            txn.commit().await?;
        }
        Ok(outcome.map_err(Claim::from))
    }

    /// Records a claim request and, in the same transaction, queues the messages `notify`
    /// makes of it (the admins' Approve / Deny DMs): a request nobody heard of cannot exist.
    pub async fn request_claim(
        &self,
        new: &NewClaimRequest<'_>,
        now: i64,
        notify: &(dyn Fn(&ClaimRequest) -> Vec<OutgoingMessage> + Sync),
    ) -> Result<RequestOutcome, DbErr> {
        let txn = self.begin_write().await?;
        if let Some(existing) = find_claim(&txn, new.host, new.kind, new.object_id).await? {
            return Ok(RequestOutcome::Owned(existing.into()));
        }
        let inserted = txn
            .execute_raw(stmt(
                txn.get_database_backend(),
                "INSERT INTO claim_requests (kind, host, object_id, label, requester, \
                 requester_name, reason, status, created_at, request_id) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) \
                 ON CONFLICT (host, kind, object_id, requester) WHERE status = 'pending' \
                 DO NOTHING",
                vec![
                    new.kind.as_str().into(),
                    new.host.into(),
                    new.object_id.into(),
                    new.label.into(),
                    new.requester.into(),
                    new.requester_name.into(),
                    new.reason.into(),
                    now.into(),
                    new.request_id.into(),
                ],
            ))
            .await?
            .rows_affected();
        let pending = claim_request::Entity::find()
            .filter(claim_request::Column::Host.eq(new.host))
            .filter(claim_request::Column::Kind.eq(new.kind.as_str()))
            .filter(claim_request::Column::ObjectId.eq(new.object_id))
            .filter(claim_request::Column::Requester.eq(new.requester))
            .filter(claim_request::Column::Status.eq("pending"))
            .one(&txn)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("claim request just written".to_owned()))?;
        let pending = ClaimRequest::from(pending);
        if inserted == 0 {
            return Ok(RequestOutcome::AlreadyAsked(pending));
        }
        for message in notify(&pending) {
            Db::enqueue_on(&txn, &message, now, None).await?;
        }
        Db::audit(
            &txn,
            now,
            AuditEntry {
                actor: new.requester,
                action: "claim request",
                target: claim_target(new.kind.as_str(), new.label, new.host, new.object_id),
                outcome: "pending",
                request_id: new.request_id,
                detail: Some(format!("request #{}: {}", pending.id, new.reason)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(RequestOutcome::Asked(pending))
    }

    /// An admin's decision on a request: on approval the claim is recorded exactly as a direct
    /// claim is (audited with the approving admin). The request's new state, the claim, the
    /// audit and the messages `notify` makes of the outcome (the requester's DM) are one
    /// transaction. Only a pending request changes, so two admins pressing at once decide once.
    pub async fn decide_claim_request(
        &self,
        id: i64,
        decision: Decision,
        admin: &str,
        request_id: &str,
        now: i64,
        notify: &(dyn Fn(&DecisionOutcome) -> Vec<OutgoingMessage> + Sync),
    ) -> Result<DecisionOutcome, DbErr> {
        let txn = self.begin_write().await?;
        let Some(mut request) = claim_request::Entity::find_by_id(id).one(&txn).await? else {
            return Ok(DecisionOutcome::NoSuchRequest);
        };
        if request.status != "pending" {
            return Ok(DecisionOutcome::AlreadyDecided(request.into()));
        }
        let status = match decision {
            Decision::Approve => "approved",
            Decision::Deny => "denied",
        };
        if !set_status_if_pending(&txn, id, status, admin, now).await? {
            drop(txn);
            let decided = claim_request::Entity::find_by_id(id)
                .one(self.connection())
                .await?
                .ok_or_else(|| DbErr::RecordNotFound(format!("claim request #{id}")))?;
            return Ok(DecisionOutcome::AlreadyDecided(decided.into()));
        }
        request.status = status.to_owned();
        request.decided_by = Some(admin.to_owned());
        request.decided_at = Some(now);
        let kind = ClaimKind::parse(&request.kind);
        let target = claim_target(
            &request.kind,
            &request.label,
            &request.host,
            &request.object_id,
        );
        let outcome = match decision {
            Decision::Approve => {
                let claim = NewClaim {
                    host: &request.host,
                    kind,
                    object_id: &request.object_id,
                    label: &request.label,
                    owner: &request.requester,
                    owner_name: &request.requester_name,
                    actor: admin,
                    grounds: format!(
                        "claim request #{id} of {} approved by {admin}",
                        request.requester
                    ),
                    request_id,
                };
                match insert_claim(&txn, &claim, now).await? {
                    Ok(()) => DecisionOutcome::Approved(request.into()),
                    Err(holder) => {
                        txn.execute_raw(stmt(
                            txn.get_database_backend(),
                            "UPDATE claim_requests SET status = 'denied' WHERE id = ?",
                            vec![id.into()],
                        ))
                        .await?;
                        request.status = "denied".to_owned();
                        Db::audit(
                            &txn,
                            now,
                            AuditEntry {
                                actor: admin,
                                action: "claim deny",
                                target,
                                outcome: "ok",
                                request_id,
                                detail: Some(format!(
                                    "claim request #{id}: approved, but already owned by {}",
                                    holder.owner
                                )),
                            },
                        )
                        .await?;
                        DecisionOutcome::Superseded(request.into(), holder.into())
                    }
                }
            }
            Decision::Deny => {
                Db::audit(
                    &txn,
                    now,
                    AuditEntry {
                        actor: admin,
                        action: "claim deny",
                        target,
                        outcome: "ok",
                        request_id,
                        detail: Some(format!("claim request #{id} of {}", request.requester)),
                    },
                )
                .await?;
                DecisionOutcome::Denied(request.into())
            }
        };
        for message in notify(&outcome) {
            Db::enqueue_on(&txn, &message, now, None).await?;
        }
        txn.commit().await?;
        Ok(outcome)
    }

    pub async fn claim_request(&self, id: i64) -> Result<Option<ClaimRequest>, DbErr> {
        Ok(claim_request::Entity::find_by_id(id)
            .one(self.connection())
            .await?
            .map(ClaimRequest::from))
    }

    /// Claims on one host (or all hosts), for resolving owners of listed things.
    pub async fn claims(&self, host: Option<&str>) -> Result<Vec<Claim>, DbErr> {
        let mut query = claim::Entity::find();
        if let Some(host) = host {
            query = query.filter(claim::Column::Host.eq(host));
        }
        Ok(query
            .all(self.connection())
            .await?
            .into_iter()
            .map(Claim::from)
            .collect())
    }
}

fn claim_target(kind: &str, label: &str, host: &str, object_id: &str) -> String {
    format!("{kind} {label} on {host} ({object_id})")
}

async fn find_claim<C: ConnectionTrait>(
    conn: &C,
    host: &str,
    kind: ClaimKind,
    object_id: &str,
) -> Result<Option<claim::Model>, DbErr> {
    claim::Entity::find_by_id((
        host.to_owned(),
        kind.as_str().to_owned(),
        object_id.to_owned(),
    ))
    .one(conn)
    .await
}

/// Inserts the claim and its audit record inside the caller's transaction, unless someone
/// holds one already (then that claim comes back and nothing is written).
async fn insert_claim<C: ConnectionTrait>(
    conn: &C,
    new: &NewClaim<'_>,
    now: i64,
) -> Result<Result<(), claim::Model>, DbErr> {
    if let Some(existing) = find_claim(conn, new.host, new.kind, new.object_id).await? {
        return Ok(Err(existing));
    }
    let row = claim::ActiveModel {
        host: Set(new.host.to_owned()),
        kind: Set(new.kind.as_str().to_owned()),
        object_id: Set(new.object_id.to_owned()),
        owner: Set(new.owner.to_owned()),
        owner_name: Set(new.owner_name.to_owned()),
        claimed_at: Set(now),
        request_id: Set(new.request_id.to_owned()),
    };
    let inserted = claim::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                claim::Column::Host,
                claim::Column::Kind,
                claim::Column::ObjectId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if inserted == 0 {
        // Claimed by a concurrent transaction between the check and the insert.
        let holder = find_claim(conn, new.host, new.kind, new.object_id)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("claim that won the race".to_owned()))?;
        return Ok(Err(holder));
    }
    let entry = AuditEntry {
        actor: new.actor,
        action: "claim",
        target: claim_target(new.kind.as_str(), new.label, new.host, new.object_id),
        outcome: "ok",
        request_id: new.request_id,
        detail: Some(format!("owner {}: {}", new.owner, new.grounds)),
    };
    Db::audit(conn, now, entry).await?;
    Ok(Ok(()))
}

async fn set_status_if_pending<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    status: &str,
    admin: &str,
    now: i64,
) -> Result<bool, DbErr> {
    let updated = conn
        .execute_raw(stmt(
            conn.get_database_backend(),
            "UPDATE claim_requests SET status = ?, decided_by = ?, decided_at = ? \
             WHERE id = ? AND status = 'pending'",
            vec![status.into(), admin.into(), now.into(), id.into()],
        ))
        .await?
        .rows_affected();
    Ok(updated == 1)
}
