//! `/maison report [day|week]`: the same report as the scheduled one, built now from the
//! store's data and shown to the caller alone (the chart goes only with the channel's report).

use maison_command::ReportPeriod;

use super::{App, Ctx};
use crate::core::render::{Reply, Visibility};
use crate::core::reports::{CAPACITY_DAYS, daily, previous_day, previous_days, weekly};
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
                daily::build(&data)
            }
            ReportPeriod::Week => {
                let (from, to) = previous_days(slot, CAPACITY_DAYS);
                let input = load_capacity(&self.db, &self.config, from, to, tz).await?;
                weekly::build(&weekly::summarize(&input))
            }
        };
        reply.visibility = Visibility::Ephemeral;
        Ok(reply)
    }
}
