//! `/maison report [day|week|month]`: the same report as the scheduled one, built now from the
//! store's data and shown to the caller alone (the charts go only with the channel's
//! reports); and `report what-if`, the last weeks' demand replayed against a larger fleet.

use maison_command::{ReportPeriod, WhatIfRequest};

use super::{App, Ctx};
use crate::core::render::{Reply, Visibility};
use crate::core::reports::whatif::{self, Addition};
use crate::core::reports::{CAPACITY_DAYS, daily, monthly, previous_day, previous_days, weekly};
use crate::store::planning::{load_demand, load_monthly};
use crate::store::reports::{load_capacity, load_daily};

impl App {
    pub(super) async fn report(
        &self,
        ctx: &Ctx<'_>,
        period: ReportPeriod,
    ) -> anyhow::Result<Reply> {
        let tz = self.config.company_tz();
        let slot = ctx.now.with_timezone(&tz);
        let mut reply = match period {
            ReportPeriod::Day => {
                let (from, to) = previous_day(slot);
                let now = ctx.now.timestamp();
                let data = load_daily(&self.db, &self.config, from, to, tz, now).await?;
                daily::build_in(&data, ctx.lang)
            }
            ReportPeriod::Week => {
                let (from, to) = previous_days(slot, CAPACITY_DAYS);
                let input = load_capacity(&self.db, &self.config, from, to, tz).await?;
                weekly::build_in(&weekly::summarize(&input), ctx.lang)
            }
            ReportPeriod::Month => {
                let month = monthly::previous_month(slot.date_naive());
                let input = load_monthly(&self.db, &self.config, month, tz).await?;
                monthly::build_in(&monthly::summarize(&input), ctx.lang)
            }
        };
        reply.visibility = Visibility::Ephemeral;
        Ok(reply)
    }

    /// `report what-if`: the `weeks` weeks before now, replayed against the fleet as it is
    /// and with the added hosts.
    pub(super) async fn what_if(
        &self,
        ctx: &Ctx<'_>,
        request: WhatIfRequest,
    ) -> anyhow::Result<Reply> {
        let to = ctx.now.timestamp();
        let from = to - i64::from(request.weeks) * 7 * 24 * 3600;
        let (hosts, demand) = load_demand(&self.db, &self.config, from, to).await?;
        let addition = Addition {
            hosts: request.hosts,
            gpus_per_host: request.gpus_per_host,
        };
        let replayed = whatif::what_if(&hosts, addition, &demand, request.weeks);
        let mut reply = whatif::build_in(&replayed, ctx.lang);
        reply.visibility = Visibility::Ephemeral;
        Ok(reply)
    }
}
