//! batch/v1 strategies: Job and CronJob, with the JobSpec checks they share, the Job
//! policies' checks and the CronJob schedule parser.

pub mod cronjob;
pub mod job;
pub mod jobspec;
pub mod policies;
