//! `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1): the file given with
//! `--config`, its defaults, and upstream's rules for merging a profile's plugin sets with
//! the default MultiPoint plugins.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// Errors reading the configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("decoding the scheduler configuration: {0}")]
    Decode(String),
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct KubeSchedulerConfiguration {
    /// kubescheduler.config.k8s.io/v1.
    #[serde(default)]
    pub api_version: String,
    /// KubeSchedulerConfiguration.
    #[serde(default)]
    pub kind: String,
    /// How to reach the apiserver.
    #[serde(default)]
    pub client_connection: ClientConnection,
    /// Leader election settings.
    #[serde(default)]
    pub leader_election: LeaderElection,
    /// Percentage of nodes to score (0 or unset: adaptive, as upstream).
    pub percentage_of_nodes_to_score: Option<i32>,
    /// Initial backoff of unschedulable pods (default 1).
    pub pod_initial_backoff_seconds: Option<u64>,
    /// Maximum backoff (default 10).
    pub pod_max_backoff_seconds: Option<u64>,
    /// Scheduling profiles (default: one default-scheduler profile).
    #[serde(default)]
    pub profiles: Vec<Profile>,
}

/// clientConnection.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClientConnection {
    /// Path of a kubeconfig.
    #[serde(default)]
    pub kubeconfig: String,
}

/// leaderElection.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LeaderElection {
    /// Whether to elect a leader (default true).
    pub leader_elect: Option<bool>,
    /// e.g. "15s".
    pub lease_duration: Option<String>,
    /// e.g. "10s".
    pub renew_deadline: Option<String>,
    /// e.g. "2s".
    pub retry_period: Option<String>,
    /// Lease name (default kube-scheduler).
    pub resource_name: Option<String>,
    /// Lease namespace (default kube-system).
    pub resource_namespace: Option<String>,
}

/// One profile.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The schedulerName pods use to pick this profile.
    #[serde(default = "default_scheduler_name")]
    pub scheduler_name: String,
    /// Overrides the global percentageOfNodesToScore.
    pub percentage_of_nodes_to_score: Option<i32>,
    /// Plugin sets per extension point.
    #[serde(default)]
    pub plugins: Plugins,
    /// Arguments per plugin.
    #[serde(default)]
    pub plugin_config: Vec<PluginConfig>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            scheduler_name: default_scheduler_name(),
            percentage_of_nodes_to_score: None,
            plugins: Plugins::default(),
            plugin_config: Vec::new(),
        }
    }
}

fn default_scheduler_name() -> String {
    "default-scheduler".into()
}

/// A plugin's arguments.
#[derive(Clone, Debug, Deserialize)]
pub struct PluginConfig {
    /// The plugin.
    pub name: String,
    /// Its args object.
    #[serde(default)]
    pub args: Value,
}

/// A plugin reference in a set.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PluginRef {
    /// The plugin's name ("*" in `disabled` means all defaults).
    pub name: String,
    /// Score weight.
    #[serde(default)]
    pub weight: Option<i64>,
}

/// Enabled and disabled plugins of one extension point.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct PluginSet {
    /// Enabled plugins, in order.
    #[serde(default)]
    pub enabled: Vec<PluginRef>,
    /// Disabled plugins.
    #[serde(default)]
    pub disabled: Vec<PluginRef>,
}

/// `plugins` of a profile.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Plugins {
    /// preEnqueue (accepted, unused).
    #[serde(default)]
    pub pre_enqueue: PluginSet,
    /// queueSort.
    #[serde(default)]
    pub queue_sort: PluginSet,
    /// preFilter.
    #[serde(default)]
    pub pre_filter: PluginSet,
    /// filter.
    #[serde(default)]
    pub filter: PluginSet,
    /// postFilter.
    #[serde(default)]
    pub post_filter: PluginSet,
    /// preScore.
    #[serde(default)]
    pub pre_score: PluginSet,
    /// score.
    #[serde(default)]
    pub score: PluginSet,
    /// reserve.
    #[serde(default)]
    pub reserve: PluginSet,
    /// permit.
    #[serde(default)]
    pub permit: PluginSet,
    /// preBind.
    #[serde(default)]
    pub pre_bind: PluginSet,
    /// bind.
    #[serde(default)]
    pub bind: PluginSet,
    /// postBind (accepted, unused).
    #[serde(default)]
    pub post_bind: PluginSet,
    /// multiPoint: plugins enabled at every extension point they implement.
    #[serde(default)]
    pub multi_point: PluginSet,
}

/// The extension points, by upstream's names, in the order they run.
pub const EXTENSION_POINTS: [&str; 10] = [
    "QueueSort",
    "PreFilter",
    "Filter",
    "PostFilter",
    "PreScore",
    "Score",
    "Reserve",
    "Permit",
    "PreBind",
    "Bind",
];

/// Upstream's default MultiPoint plugins (v1) with their score weights.
pub const DEFAULT_PLUGINS: [(&str, i64); 14] = [
    ("PrioritySort", 0),
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("VolumeBinding", 0),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    ("DefaultBinder", 0),
];

/// The plugins of each extension point after merging, with score weights.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvedPlugins {
    /// QueueSort.
    pub queue_sort: Vec<(String, i64)>,
    /// PreFilter.
    pub pre_filter: Vec<(String, i64)>,
    /// Filter.
    pub filter: Vec<(String, i64)>,
    /// PostFilter.
    pub post_filter: Vec<(String, i64)>,
    /// PreScore.
    pub pre_score: Vec<(String, i64)>,
    /// Score.
    pub score: Vec<(String, i64)>,
    /// Reserve.
    pub reserve: Vec<(String, i64)>,
    /// Permit.
    pub permit: Vec<(String, i64)>,
    /// PreBind.
    pub pre_bind: Vec<(String, i64)>,
    /// Bind.
    pub bind: Vec<(String, i64)>,
}

impl ResolvedPlugins {
    fn slot(&mut self, point: &str) -> &mut Vec<(String, i64)> {
        match point {
            "QueueSort" => &mut self.queue_sort,
            "PreFilter" => &mut self.pre_filter,
            "Filter" => &mut self.filter,
            "PostFilter" => &mut self.post_filter,
            "PreScore" => &mut self.pre_score,
            "Score" => &mut self.score,
            "Reserve" => &mut self.reserve,
            "Permit" => &mut self.permit,
            "PreBind" => &mut self.pre_bind,
            _ => &mut self.bind,
        }
    }
}

fn plugin_ref(name: &str, weight: i64) -> PluginRef {
    PluginRef {
        name: name.into(),
        weight: (weight > 0).then_some(weight),
    }
}

/// Upstream `mergePluginSet`: defaults minus disabled ("*" drops all), defaults re-configured
/// in place, then the other custom plugins appended.
pub fn merge_plugin_set(defaults: &[PluginRef], custom: &PluginSet) -> Vec<PluginRef> {
    let disabled: BTreeSet<&str> = custom.disabled.iter().map(|p| p.name.as_str()).collect();
    let mut replaced = BTreeSet::new();
    let mut out = Vec::new();
    if !disabled.contains("*") {
        for d in defaults
            .iter()
            .filter(|d| !disabled.contains(d.name.as_str()))
        {
            match custom.enabled.iter().position(|c| c.name == d.name) {
                Some(i) => {
                    replaced.insert(i);
                    out.push(custom.enabled[i].clone());
                }
                None => out.push(d.clone()),
            }
        }
    }
    out.extend(
        custom
            .enabled
            .iter()
            .enumerate()
            .filter(|(i, _)| !replaced.contains(i))
            .map(|(_, p)| p.clone()),
    );
    out
}

impl Profile {
    /// The set of one extension point.
    pub fn set(&self, point: &str) -> &PluginSet {
        let p = &self.plugins;
        match point {
            "QueueSort" => &p.queue_sort,
            "PreFilter" => &p.pre_filter,
            "Filter" => &p.filter,
            "PostFilter" => &p.post_filter,
            "PreScore" => &p.pre_score,
            "Score" => &p.score,
            "Reserve" => &p.reserve,
            "Permit" => &p.permit,
            "PreBind" => &p.pre_bind,
            _ => &p.bind,
        }
    }

    /// The MultiPoint plugins after merging with the defaults.
    pub fn multi_point(&self) -> Vec<PluginRef> {
        let defaults: Vec<PluginRef> = DEFAULT_PLUGINS
            .iter()
            .map(|(n, w)| plugin_ref(n, *w))
            .collect();
        merge_plugin_set(&defaults, &self.plugins.multi_point)
    }

    /// Every plugin that may need instantiating.
    pub fn candidate_names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.multi_point().into_iter().map(|p| p.name).collect();
        for point in EXTENSION_POINTS {
            names.extend(self.set(point).enabled.iter().map(|p| p.name.clone()));
        }
        names
    }

    /// Upstream `expandMultiPointPlugins`: per extension point, the plugins explicitly
    /// enabled there that are also MultiPoint (in their order), then the MultiPoint plugins
    /// implementing the point and not disabled there, then the other explicit ones.
    pub fn resolve(&self, implements: &dyn Fn(&str, &str) -> bool) -> ResolvedPlugins {
        let multi = self.multi_point();
        let mut out = ResolvedPlugins::default();
        for point in EXTENSION_POINTS {
            let set = self.set(point);
            let disabled: BTreeSet<&str> = set.disabled.iter().map(|p| p.name.as_str()).collect();
            let in_multi = |n: &str| multi.iter().any(|m| m.name == n);
            let weight_of = |p: &PluginRef| {
                p.weight
                    .or_else(|| {
                        multi
                            .iter()
                            .find(|m| m.name == p.name)
                            .and_then(|m| m.weight)
                    })
                    .unwrap_or(1)
            };
            let mut list: Vec<(String, i64)> = Vec::new();
            let push = |list: &mut Vec<(String, i64)>, p: &PluginRef| {
                if !list.iter().any(|(n, _)| *n == p.name) {
                    list.push((p.name.clone(), weight_of(p)));
                }
            };
            for p in set.enabled.iter().filter(|p| in_multi(&p.name)) {
                push(&mut list, p);
            }
            if !disabled.contains("*") {
                for p in multi
                    .iter()
                    .filter(|m| implements(&m.name, point) && !disabled.contains(m.name.as_str()))
                {
                    push(&mut list, p);
                }
            }
            for p in set.enabled.iter().filter(|p| !in_multi(&p.name)) {
                push(&mut list, p);
            }
            *out.slot(point) = list;
        }
        out
    }

    /// The args of a plugin (null when not configured).
    pub fn plugin_args(&self, name: &str) -> Value {
        self.plugin_config
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.args.clone())
            .unwrap_or(Value::Null)
    }
}

impl KubeSchedulerConfiguration {
    /// Reads and defaults a configuration file (YAML or JSON).
    pub fn load(path: &str) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and defaults a configuration document.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let v: Value =
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Decode(e.to_string()))?;
        let mut c: KubeSchedulerConfiguration =
            serde_json::from_value(v).map_err(|e| ConfigError::Decode(e.to_string()))?;
        if !c.kind.is_empty() && c.kind != "KubeSchedulerConfiguration" {
            return Err(ConfigError::Decode(format!(
                "no kind {:?} is registered",
                c.kind
            )));
        }
        c.set_defaults();
        c.validate()?;
        Ok(c)
    }

    /// Upstream's defaults: one default-scheduler profile when none is given.
    pub fn set_defaults(&mut self) {
        if self.profiles.is_empty() {
            self.profiles.push(Profile::default());
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut names = BTreeSet::new();
        for p in &self.profiles {
            if p.scheduler_name.is_empty() {
                return Err(ConfigError::Invalid(
                    "profiles[].schedulerName: Required value".into(),
                ));
            }
            if !names.insert(p.scheduler_name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "profiles[].schedulerName: Duplicate value: {:?}",
                    p.scheduler_name
                )));
            }
        }
        if let Some(pct) = self.percentage_of_nodes_to_score {
            if !(0..=100).contains(&pct) {
                return Err(ConfigError::Invalid(format!(
                    "percentageOfNodesToScore: Invalid value: {pct}: not in valid range [0-100]"
                )));
            }
        }
        Ok(())
    }

    /// The default configuration.
    pub fn default_config() -> Self {
        let mut c = KubeSchedulerConfiguration::default();
        c.set_defaults();
        c
    }

    /// Initial pod backoff.
    pub fn initial_backoff(&self) -> Duration {
        Duration::from_secs(self.pod_initial_backoff_seconds.unwrap_or(1))
    }

    /// Maximum pod backoff.
    pub fn max_backoff(&self) -> Duration {
        Duration::from_secs(self.pod_max_backoff_seconds.unwrap_or(10))
    }
}

/// Parses a Go duration such as "15s", "1m30s", "500ms".
pub fn parse_duration(s: &str) -> Result<Duration, ConfigError> {
    let bad = || ConfigError::Invalid(format!("invalid duration {s:?}"));
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: &str, _: &str) -> bool {
        true
    }

    fn score_only(name: &str, point: &str) -> bool {
        point == "Score" || name != "ImageLocality"
    }

    #[test]
    fn defaults_give_upstream_weights() {
        let c = KubeSchedulerConfiguration::default_config();
        let r = c.profiles[0].resolve(&score_only);
        assert!(r.score.contains(&("TaintToleration".into(), 3)));
        assert!(r.score.contains(&("ImageLocality".into(), 1)));
        assert!(!r.filter.iter().any(|(n, _)| n == "ImageLocality"));
        assert_eq!(r.queue_sort[0].0, "PrioritySort");
    }

    #[test]
    fn disable_and_reweight() {
        let yaml = r#"
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: no-scoring
  plugins:
    score:
      disabled:
      - name: '*'
      enabled:
      - name: NodeResourcesFit
        weight: 5
    preScore:
      disabled:
      - name: '*'
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
"#;
        let c = KubeSchedulerConfiguration::parse(yaml).unwrap();
        assert_eq!(c.profiles.len(), 2);
        let r = c.profiles[1].resolve(&all);
        assert_eq!(r.score, vec![("NodeResourcesFit".to_string(), 5)]);
        assert!(r.pre_score.is_empty());
        assert_eq!(
            c.profiles[1].plugin_args("NodeResourcesFit")["scoringStrategy"]["type"],
            "MostAllocated"
        );
    }

    #[test]
    fn multipoint_disable_removes_everywhere() {
        let mut p = Profile::default();
        p.plugins.multi_point.disabled.push(PluginRef {
            name: "TaintToleration".into(),
            weight: None,
        });
        let r = p.resolve(&all);
        assert!(!r.filter.iter().any(|(n, _)| n == "TaintToleration"));
        assert!(!r.score.iter().any(|(n, _)| n == "TaintToleration"));
    }

    #[test]
    fn duplicate_profiles_rejected() {
        let yaml = "profiles:\n- schedulerName: a\n- schedulerName: a\n";
        assert!(KubeSchedulerConfiguration::parse(yaml).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("x").is_err());
    }
}
