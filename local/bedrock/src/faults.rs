//! Faults on demand, seeded so that a run with the same spec and the same requests fails the same way.
//!
//! Syntax: comma-separated items, spaces ignored, e.g. `throttle=0.3,5xx=0.05,job-failed,quota,seed=7`.
//!
//! | item | effect |
//! |---|---|
//! | `throttle=R` | every operation answers `ThrottlingException` (429) with probability R (0..=1) |
//! | `5xx=R` | every operation answers `InternalServerException` (500) with probability R |
//! | `job-failed[=N]` | the next N (default 1) customization jobs end `Failed` with a failureMessage |
//! | `quota[=N]` | CreateProvisionedModelThroughput answers `ServiceQuotaExceededException`: always, or the next N calls |
//! | `throughput-failed[=N]` | the next N (default 1) provisioned throughputs end `Failed` |
//! | `deployment-failed[=N]` | the next N (default 1) custom model deployments end `Failed` |
//! | `slow-training=F` | every customization job trains F times (at least 1) as long as the catalogue's throughput says: a job overrunning its estimate |
//! | `seed=S` | seed of the random draws (default 0) |
//!
//! One draw is made per request, in arrival order: below `throttle` it throttles, below
//! `throttle + 5xx` it fails with a 500.

use std::fmt;
use std::str::FromStr;

/// How many times a fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Count {
    #[default]
    Never,
    Times(u32),
    Always,
}

impl Count {
    /// Consumes one occurrence; true when the fault fires.
    fn take(&mut self) -> bool {
        match self {
            Count::Never => false,
            Count::Always => true,
            Count::Times(n) => {
                *n -= 1;
                if *n == 0 {
                    *self = Count::Never;
                }
                true
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub throttle: f64,
    pub server_error: f64,
    pub job_failed: Count,
    pub quota: Count,
    pub throughput_failed: Count,
    pub deployment_failed: Count,
    /// Training time multiplier (1 when not set).
    pub slow_training: f64,
    pub seed: u64,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            throttle: 0.0,
            server_error: 0.0,
            job_failed: Count::Never,
            quota: Count::Never,
            throughput_failed: Count::Never,
            deployment_failed: Count::Never,
            slow_training: 1.0,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid fault spec item `{item}`: {reason}; syntax: throttle=0.3,5xx=0.05,job-failed[=N],quota[=N],throughput-failed[=N],deployment-failed[=N],slow-training=3,seed=7"
)]
pub struct FaultSpecError {
    pub item: String,
    pub reason: &'static str,
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let err = |reason| FaultSpecError { item: item.to_string(), reason };
            let (name, value) = match item.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (item, None),
            };
            let ratio = |v: Option<&str>| -> Result<f64, FaultSpecError> {
                let r: f64 = v.ok_or(err("needs a ratio"))?.parse().map_err(|_| err("not a number"))?;
                if (0.0..=1.0).contains(&r) { Ok(r) } else { Err(err("ratio must be between 0 and 1")) }
            };
            let count = |v: Option<&str>, bare: Count| -> Result<Count, FaultSpecError> {
                match v {
                    None => Ok(bare),
                    Some(v) => match v.parse::<u32>().map_err(|_| err("not a count"))? {
                        0 => Ok(Count::Never),
                        n => Ok(Count::Times(n)),
                    },
                }
            };
            match name {
                "throttle" => spec.throttle = ratio(value)?,
                "5xx" => spec.server_error = ratio(value)?,
                "job-failed" => spec.job_failed = count(value, Count::Times(1))?,
                "quota" => spec.quota = count(value, Count::Always)?,
                "throughput-failed" => spec.throughput_failed = count(value, Count::Times(1))?,
                "deployment-failed" => spec.deployment_failed = count(value, Count::Times(1))?,
                "slow-training" => {
                    let f: f64 = value.ok_or(err("needs a factor"))?.parse().map_err(|_| err("not a number"))?;
                    if !(1.0..=100.0).contains(&f) {
                        return Err(err("factor must be between 1 and 100"));
                    }
                    spec.slow_training = f;
                }
                "seed" => spec.seed = value.ok_or(err("needs a number"))?.parse().map_err(|_| err("not a number"))?,
                _ => return Err(err("unknown fault")),
            }
        }
        if spec.throttle + spec.server_error > 1.0 {
            return Err(FaultSpecError { item: s.to_string(), reason: "throttle + 5xx must not exceed 1" });
        }
        Ok(spec)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |c: Count| match c {
            Count::Never => None,
            Count::Times(n) => Some(format!("={n}")),
            Count::Always => Some(String::new()),
        };
        let mut items = Vec::new();
        if self.throttle > 0.0 {
            items.push(format!("throttle={}", self.throttle));
        }
        if self.server_error > 0.0 {
            items.push(format!("5xx={}", self.server_error));
        }
        for (name, c) in [
            ("job-failed", self.job_failed),
            ("quota", self.quota),
            ("throughput-failed", self.throughput_failed),
            ("deployment-failed", self.deployment_failed),
        ] {
            if let Some(suffix) = count(c) {
                // `quota` bare means always; the others need an explicit "always" spelling we do not have.
                items.push(format!("{name}{suffix}"));
            }
        }
        if self.slow_training > 1.0 {
            items.push(format!("slow-training={}", self.slow_training));
        }
        items.push(format!("seed={}", self.seed));
        f.write_str(&items.join(","))
    }
}

/// What a request draw decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Draw {
    Pass,
    Throttle,
    ServerError,
}

/// A spec plus the state it consumes: the random stream and the remaining counts.
#[derive(Debug, Clone)]
pub(crate) struct Faults {
    pub spec: FaultSpec,
    rng: u64,
}

impl Faults {
    pub fn new(spec: FaultSpec) -> Self {
        let rng = spec.seed;
        Faults { spec, rng }
    }

    /// splitmix64: tiny, seedable, good enough for fault ratios.
    fn next_unit(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn draw(&mut self) -> Draw {
        if self.spec.throttle <= 0.0 && self.spec.server_error <= 0.0 {
            return Draw::Pass;
        }
        let u = self.next_unit();
        if u < self.spec.throttle {
            Draw::Throttle
        } else if u < self.spec.throttle + self.spec.server_error {
            Draw::ServerError
        } else {
            Draw::Pass
        }
    }

    pub fn take_job_failed(&mut self) -> bool {
        self.spec.job_failed.take()
    }
    pub fn take_quota(&mut self) -> bool {
        self.spec.quota.take()
    }
    pub fn take_throughput_failed(&mut self) -> bool {
        self.spec.throughput_failed.take()
    }
    pub fn take_deployment_failed(&mut self) -> bool {
        self.spec.deployment_failed.take()
    }
    pub fn slow_training(&self) -> f64 {
        self.spec.slow_training
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_syntax() {
        let s: FaultSpec = "throttle=0.3, 5xx=0.05,job-failed,quota,seed=7".parse().unwrap();
        assert_eq!(s.throttle, 0.3);
        assert_eq!(s.server_error, 0.05);
        assert_eq!(s.job_failed, Count::Times(1));
        assert_eq!(s.quota, Count::Always);
        assert_eq!(s.seed, 7);
        let s: FaultSpec = "job-failed=3,quota=2,throughput-failed,deployment-failed=0".parse().unwrap();
        assert_eq!((s.job_failed, s.quota), (Count::Times(3), Count::Times(2)));
        assert_eq!((s.throughput_failed, s.deployment_failed), (Count::Times(1), Count::Never));
        assert_eq!("".parse::<FaultSpec>().unwrap(), FaultSpec::default());
        for bad in ["throttle=2", "throttle", "5xx=x", "explode", "seed=-1", "job-failed=x", "throttle=0.6,5xx=0.6"] {
            assert!(bad.parse::<FaultSpec>().is_err(), "{bad}");
        }
        let s: FaultSpec = "slow-training=3".parse().unwrap();
        assert_eq!(s.slow_training, 3.0);
        assert_eq!(s.to_string().parse::<FaultSpec>().unwrap(), s);
        assert!("slow-training=0.5".parse::<FaultSpec>().is_err());
        let s: FaultSpec = "throttle=0.25,quota,job-failed=2,seed=3".parse().unwrap();
        assert_eq!(s.to_string().parse::<FaultSpec>().unwrap(), s);
    }

    #[test]
    fn draws_are_seeded_and_follow_the_ratios() {
        let spec: FaultSpec = "throttle=0.3,5xx=0.1,seed=7".parse().unwrap();
        let run = |spec: &FaultSpec| {
            let mut f = Faults::new(spec.clone());
            (0..2000).map(|_| f.draw()).collect::<Vec<_>>()
        };
        let a = run(&spec);
        assert_eq!(a, run(&spec));
        let throttled = a.iter().filter(|d| **d == Draw::Throttle).count();
        let failed = a.iter().filter(|d| **d == Draw::ServerError).count();
        assert!((500..700).contains(&throttled), "{throttled}");
        assert!((140..260).contains(&failed), "{failed}");
        let other = FaultSpec { seed: 8, ..spec };
        assert_ne!(a, run(&other));
        let mut f = Faults::new("job-failed=2".parse().unwrap());
        assert_eq!([f.take_job_failed(), f.take_job_failed(), f.take_job_failed()], [true, true, false]);
        assert_eq!(f.draw(), Draw::Pass);
    }
}
