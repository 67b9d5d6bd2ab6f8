//! batch/v1 CronJob: upstream `SetDefaults_CronJob`, `ValidateCronJobCreate` (schedule,
//! time zone, concurrency policy, job template) and the printer's columns.

use rkube_apimachinery::validation::{max_len_error, FieldError};
use serde_json::{json, Value};

use rkube_apimachinery::cron::{parse as parse_schedule, time_zone_problem};
use super::jobspec::validate_job_spec;
use crate::resources::apps::podtemplate::{container_cells, default_template_at};
use crate::resources::apps::selector::{format_label_selector, invalid_selector};
use crate::resources::apps::util::{at, default_at, default_str_at, len_at, nonnegative, opt_bool, str_at};
use crate::resources::apps::workload::init_status;
use crate::resources::strategy::{age_cell, age_since, Column, Strategy};

/// CronJob names leave room for the 11-character suffix of the Jobs they create.
const MAX_NAME_LENGTH: usize = 63 - 11;

/// The CronJob strategy.
pub struct CronJobStrategy;

impl Strategy for CronJobStrategy {
    fn default(&self, obj: &mut Value) {
        default_str_at(obj, "/spec", "concurrencyPolicy", "Allow");
        default_at(obj, "/spec", "suspend", json!(false));
        default_at(obj, "/spec", "successfulJobsHistoryLimit", json!(3));
        default_at(obj, "/spec", "failedJobsHistoryLimit", json!(1));
        default_template_at(obj, "/spec/jobTemplate/spec");
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        init_status(obj, json!({}));
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_spec(obj, None);
        let name = str_at(obj, "/metadata/name");
        if name.len() > MAX_NAME_LENGTH {
            errs.push(FieldError::invalid("metadata.name", name, max_len_error(MAX_NAME_LENGTH)));
        }
        errs
    }

    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("Schedule", "string", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
            Column::new("Timezone", "string", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones"),
            Column::new("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false."),
            Column::new("Active", "integer", "A list of pointers to currently running jobs."),
            Column::new("Last Schedule", "string", "Information when was the last time the job was successfully scheduled."),
            Column::age(),
            Column::wide("Containers", "string", "Names of each container in the template."),
            Column::wide("Images", "string", "Images referenced by each container in the template."),
            Column::wide("Selector", "string", "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"),
        ]
    }

    fn cells(&self, obj: &Value) -> Vec<Value> {
        let (names, images) = container_cells(at(obj, "/spec/jobTemplate/spec/template"));
        let suspend = match opt_bool(obj, "/spec/suspend") {
            Some(true) => "True",
            Some(false) => "False",
            None => "<unset>",
        };
        let last = at(obj, "/status/lastScheduleTime").map_or_else(|| "<none>".to_string(), |t| age_since(Some(t)));
        vec![
            json!(str_at(obj, "/spec/schedule")),
            json!(at(obj, "/spec/timeZone").and_then(Value::as_str).unwrap_or("<none>")),
            json!(suspend),
            json!(len_at(obj, "/status/active")),
            json!(last),
            age_cell(obj),
            names,
            images,
            json!(format_label_selector(at(obj, "/spec/jobTemplate/spec/selector"))),
        ]
    }
}

/// Upstream `validateCronJobSpec`; `old` is the stored object on updates.
pub fn validate_spec(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = validate_schedule(obj, old);
    errs.extend(nonnegative(obj, "/spec/startingDeadlineSeconds", "spec.startingDeadlineSeconds"));
    let tz = at(obj, "/spec/timeZone");
    if old.is_none_or(|o| at(o, "/spec/timeZone") != tz) {
        if let Some(detail) = tz.map(|v| v.as_str().unwrap_or("")).and_then(time_zone_problem) {
            errs.push(FieldError::invalid("spec.timeZone", tz.cloned().unwrap_or(Value::Null), detail));
        }
    }
    match str_at(obj, "/spec/concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required("spec.concurrencyPolicy", "")),
        other => errs.push(FieldError::not_supported("spec.concurrencyPolicy", other, &["Allow", "Forbid", "Replace"])),
    }
    errs.extend(validate_job_template(obj));
    errs.extend(nonnegative(obj, "/spec/successfulJobsHistoryLimit", "spec.successfulJobsHistoryLimit"));
    errs.extend(nonnegative(obj, "/spec/failedJobsHistoryLimit", "spec.failedJobsHistoryLimit"));
    errs
}

/// Upstream `validateScheduleFormat`: parses, and keeps time zones out of the schedule
/// (unless the stored schedule already had one).
fn validate_schedule(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let schedule = str_at(obj, "/spec/schedule");
    if schedule.is_empty() {
        return vec![FieldError::required("spec.schedule", "")];
    }
    let mut errs = Vec::new();
    if let Err(e) = parse_schedule(schedule) {
        errs.push(FieldError::invalid("spec.schedule", schedule, e));
    }
    let allow_tz = old.is_some_and(|o| str_at(o, "/spec/schedule").contains("TZ"));
    if schedule.contains("TZ") {
        if !allow_tz {
            errs.push(FieldError::invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
        } else if at(obj, "/spec/timeZone").is_some() {
            errs.push(FieldError::invalid("spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"));
        }
    }
    errs
}

/// Upstream `ValidateJobTemplateSpec`: the job spec, with the selector left to the system.
fn validate_job_template(obj: &Value) -> Vec<FieldError> {
    let spec = obj.pointer("/spec/jobTemplate/spec").unwrap_or(&Value::Null);
    let mut errs = validate_job_spec(spec, "spec.jobTemplate.spec");
    if let Some(sel) = at(spec, "/selector") {
        errs.push(invalid_selector("spec.jobTemplate.spec.selector", Some(sel), "`selector` will be auto-generated"));
    }
    if opt_bool(spec, "/manualSelector") == Some(true) {
        errs.push(FieldError::not_supported("spec.jobTemplate.spec.manualSelector", true, &["nil", "false"]));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cronjob() -> Value {
        json!({
            "metadata": {"name": "hello", "namespace": "default"},
            "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "hello", "image": "busybox:1.28"}]
            }}}}}
        })
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_and_valid() {
        let mut c = cronjob();
        CronJobStrategy.default(&mut c);
        let s = &c["spec"];
        assert_eq!(s["concurrencyPolicy"], "Allow");
        assert_eq!(s["suspend"], false);
        assert_eq!(s["successfulJobsHistoryLimit"], 3);
        assert_eq!(s["failedJobsHistoryLimit"], 1);
        assert_eq!(s["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        assert!(CronJobStrategy.validate(&c).is_empty(), "{:?}", CronJobStrategy.validate(&c));
    }

    #[test]
    fn schedule_and_time_zone() {
        let mut c = cronjob();
        c["spec"]["schedule"] = json!("* * *");
        c["spec"]["timeZone"] = json!("Local");
        c["spec"]["concurrencyPolicy"] = json!("Sometimes");
        CronJobStrategy.default(&mut c);
        assert_eq!(
            msgs(&CronJobStrategy.validate(&c)),
            [
                "spec.schedule: Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]",
                "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
                "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
            ]
        );
        let mut tz = cronjob();
        tz["spec"]["schedule"] = json!("TZ=UTC 0 * * * *");
        CronJobStrategy.default(&mut tz);
        assert_eq!(
            msgs(&CronJobStrategy.validate(&tz)),
            ["spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"]
        );
        let mut none = cronjob();
        none["spec"]["schedule"] = json!("");
        CronJobStrategy.default(&mut none);
        assert_eq!(msgs(&CronJobStrategy.validate(&none)), ["spec.schedule: Required value"]);
    }

    #[test]
    fn job_template_and_name() {
        let mut c = cronjob();
        c["metadata"]["name"] = json!("x".repeat(53));
        c["spec"]["jobTemplate"]["spec"]["selector"] = json!({"matchLabels": {"a": "b"}});
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        CronJobStrategy.default(&mut c);
        assert_eq!(
            msgs(&CronJobStrategy.validate(&c)),
            [
                "spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
                "spec.jobTemplate.spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated",
                "metadata.name: Invalid value: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\": must be no more than 52 characters",
            ]
        );
    }

    #[test]
    fn table_row() {
        let mut c = cronjob();
        CronJobStrategy.default(&mut c);
        c["status"] = json!({"active": [{"name": "hello-1"}]});
        let cells = CronJobStrategy.cells(&c);
        assert_eq!(cells.len(), CronJobStrategy.columns().len());
        assert_eq!(cells[..5], [json!("*/1 * * * *"), json!("<none>"), json!("False"), json!(1), json!("<none>")]);
        assert_eq!(cells[6], "hello");
        assert_eq!(cells[8], "<none>");
    }
}
