//! Distillation: which teacher may teach which student (Bedrock user guide, "Prerequisites for model
//! distillation", checked 2026-12; /work notes: bedrock-facts §11), and the default teacher.
//!
//! Only students whose catalogue entry offers DISTILLATION can be trained by this pipeline; the other
//! pairs are listed so a refusal can say what Bedrock takes.

use super::{Model, Provenance};
use serde::Serialize;

/// A teacher and the students it may teach.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Teacher {
    /// The `teacherModelIdentifier`: a model id, or an inference profile where Bedrock serves the teacher
    /// only through one.
    pub id: &'static str,
    pub name: &'static str,
    /// Students' base ids (without the context suffix).
    pub students: &'static [&'static str],
    pub region: &'static str,
    pub provenance: Provenance,
}

/// Every allowed pair, the preferred teacher of a student first.
pub static TEACHERS: &[Teacher] = &[
    Teacher {
        id: "amazon.nova-pro-v1:0",
        name: "Amazon Nova Pro",
        students: &["amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"],
        region: "us-east-1",
        provenance: Provenance::Documented,
    },
    Teacher {
        // Served through a cross-region inference profile only.
        id: "us.amazon.nova-premier-v1:0",
        name: "Amazon Nova Premier",
        students: &["amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0", "amazon.nova-pro-v1:0"],
        region: "us-east-1",
        provenance: Provenance::Documented,
    },
    Teacher {
        id: "anthropic.claude-3-5-sonnet-20241022-v2:0",
        name: "Claude 3.5 Sonnet v2",
        students: &["anthropic.claude-3-haiku-20240307-v1:0"],
        region: "us-west-2",
        provenance: Provenance::Documented,
    },
    Teacher {
        id: "anthropic.claude-3-5-sonnet-20240620-v1:0",
        name: "Claude 3.5 Sonnet",
        students: &["anthropic.claude-3-haiku-20240307-v1:0"],
        region: "us-west-2",
        provenance: Provenance::Documented,
    },
    Teacher {
        id: "meta.llama3-1-405b-instruct-v1:0",
        name: "Llama 3.1 405B Instruct",
        students: &[
            "meta.llama3-1-8b-instruct-v1:0",
            "meta.llama3-1-70b-instruct-v1:0",
            "meta.llama3-2-1b-instruct-v1:0",
            "meta.llama3-3-70b-instruct-v1:0",
        ],
        region: "us-west-2",
        provenance: Provenance::Documented,
    },
    Teacher {
        id: "meta.llama3-1-70b-instruct-v1:0",
        name: "Llama 3.1 70B Instruct",
        students: &[
            "meta.llama3-1-8b-instruct-v1:0",
            "meta.llama3-2-1b-instruct-v1:0",
            "meta.llama3-2-3b-instruct-v1:0",
        ],
        region: "us-west-2",
        provenance: Provenance::Documented,
    },
    Teacher {
        id: "meta.llama3-3-70b-instruct-v1:0",
        name: "Llama 3.3 70B Instruct",
        students: &[
            "meta.llama3-1-8b-instruct-v1:0",
            "meta.llama3-2-1b-instruct-v1:0",
            "meta.llama3-2-3b-instruct-v1:0",
        ],
        region: "us-west-2",
        provenance: Provenance::Documented,
    },
];

/// The teachers a student may learn from, preferred first.
pub fn teachers_of(student: &Model) -> impl Iterator<Item = &'static Teacher> + '_ {
    TEACHERS.iter().filter(move |t| t.students.contains(&student.base_id()))
}

/// The teacher used when a configuration names none: the first allowed one.
pub fn default_teacher(student: &Model) -> Option<&'static Teacher> {
    teachers_of(student).next()
}

/// The teacher a `teacherModelIdentifier` names: an id, or an ARN ending in one (a foundation model
/// or an inference profile).
pub fn find_teacher(identifier: &str) -> Option<&'static Teacher> {
    let id = identifier.trim();
    let id = id.rsplit_once('/').map_or(id, |(_, tail)| tail);
    TEACHERS.iter().find(|t| t.id == id || t.id.strip_prefix("us.") == Some(id))
}

/// Whether `teacher` may teach `student`; the error names the teachers it may have.
pub fn check_pair(teacher: &str, student: &Model) -> Result<&'static Teacher, String> {
    let allowed: Vec<&str> = teachers_of(student).map(|t| t.id).collect();
    let list = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
    match find_teacher(teacher) {
        Some(t) if t.students.contains(&student.base_id()) => Ok(t),
        Some(t) => Err(format!("{} cannot teach {}; its teachers are: {list}", t.id, student.id)),
        None => Err(format!(
            "`{teacher}` is not a distillation teacher Bedrock offers; {}'s teachers are: {list}",
            student.id
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CustomizationType;
    use crate::catalogue;

    #[test]
    fn every_student_that_offers_distillation_has_a_default_teacher_in_its_region() {
        for m in catalogue::all().iter().filter(|m| m.customization(CustomizationType::Distillation).is_some()) {
            let t = default_teacher(m).unwrap_or_else(|| panic!("{} has no teacher", m.id));
            assert!(m.regions.contains(&t.region), "{} teaches {} in {}", t.id, m.id, t.region);
            assert_eq!(check_pair(t.id, m).map(|t| t.id), Ok(t.id));
        }
        let micro = catalogue::find("amazon.nova-micro-v1:0").unwrap();
        assert_eq!(default_teacher(micro).unwrap().id, "amazon.nova-pro-v1:0");
        let pro = catalogue::find("amazon.nova-pro-v1:0").unwrap();
        assert_eq!(default_teacher(pro).unwrap().id, "us.amazon.nova-premier-v1:0");
    }

    #[test]
    fn a_pair_bedrock_does_not_offer_is_refused_naming_the_allowed_teachers() {
        let micro = catalogue::find("amazon.nova-micro-v1:0").unwrap();
        let err = check_pair("meta.llama3-1-405b-instruct-v1:0", micro).unwrap_err();
        assert!(err.contains("cannot teach") && err.contains("amazon.nova-pro-v1:0"), "{err}");
        assert!(check_pair("amazon.nova-lite-v1:0", micro).unwrap_err().contains("not a distillation teacher"));
        let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-premier-v1:0";
        assert_eq!(check_pair(arn, micro).unwrap().id, "us.amazon.nova-premier-v1:0");
        assert!(check_pair("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0", micro).is_ok());
    }
}
