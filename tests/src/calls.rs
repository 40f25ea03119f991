//! The AWS calls of the whole run, gathered for the least-privilege test (R35): each
//! test's stack records what every function called (`shared::adapters::aws_calls`);
//! when the run sets `SORA_AWS_CALLS_DIR`, each stack leaves its calls there as it
//! ends, its own names made general (`{AccountsTable}` for this stack's table), and the
//! policy test, run after the rest (`scripts/test.sh`), reads them all back in its own
//! stack's names. So the policies are held to everything the tests made the code do,
//! without running every flow once more.

use std::collections::{BTreeMap, BTreeSet};

use local_stack::LocalStack;
use shared::adapters::aws_calls::Call;

/// Where the run's calls are gathered.
pub const DIR_VAR: &str = "SORA_AWS_CALLS_DIR";

type Calls = BTreeMap<String, BTreeSet<Call>>;

/// Each name a stack gave its resources, with the resource it names: a queue by its
/// name (the last part of its URL), longest first so that no name is taken for a part
/// of a longer one.
fn names(stack: &LocalStack) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = stack
        .refs
        .refs
        .iter()
        .map(|(logical, value)| {
            let name = value
                .rsplit('/')
                .next()
                .filter(|n| value.starts_with("http") && !n.is_empty());
            (name.unwrap_or(value).to_owned(), logical.clone())
        })
        .filter(|(name, _)| !name.is_empty())
        .collect();
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    names
}

/// `kind/NAME…` with NAME replaced by `with(NAME)` when it is one of `from`.
fn rename(
    resource: &str,
    from: &[(String, String)],
    to: impl Fn(&str) -> Option<String>,
) -> String {
    let split = if resource.starts_with("parameter") {
        "parameter".len()
    } else {
        resource.find('/').map_or(resource.len(), |i| i + 1)
    };
    let (kind, rest) = resource.split_at(split);
    for (name, logical) in from {
        let tail = rest.strip_prefix(name.as_str());
        if let Some(tail) = tail.filter(|t| t.is_empty() || t.starts_with('/'))
            && let Some(new) = to(logical)
        {
            return format!("{kind}{new}{tail}");
        }
    }
    resource.to_owned()
}

/// Leaves the stack's calls in the run's folder, its names made general.
pub fn save(stack: &LocalStack) {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let names = names(stack);
    let general: BTreeMap<String, Vec<Call>> = stack
        .calls
        .snapshot()
        .into_iter()
        .map(|(function, calls)| {
            let calls = calls
                .into_iter()
                .map(|(action, resource)| {
                    (
                        action,
                        rename(&resource, &names, |l| Some(format!("{{{l}}}"))),
                    )
                })
                .collect();
            (function, calls)
        })
        .collect();
    let path = std::path::Path::new(&dir).join(format!("{}.json", uuid::Uuid::new_v4().simple()));
    if let Err(e) = std::fs::write(&path, serde_json::to_vec(&general).unwrap_or_default()) {
        eprintln!(
            "could not keep this stack's AWS calls in {}: {e}",
            path.display()
        );
    }
}

/// Every call the run's stacks left, in `stack`'s own names, and how many stacks left
/// them; `None` when the run gathers none.
pub fn gathered(stack: &LocalStack) -> Option<(usize, Calls)> {
    let dir = std::env::var(DIR_VAR).ok()?;
    let own: BTreeMap<String, String> = names(stack)
        .into_iter()
        .map(|(name, logical)| (logical, name))
        .collect();
    let placeholders: Vec<(String, String)> = own
        .keys()
        .map(|logical| (format!("{{{logical}}}"), logical.clone()))
        .collect();
    let mut all = Calls::new();
    let mut stacks = 0;
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        let Ok(calls) = serde_json::from_slice::<BTreeMap<String, Vec<Call>>>(&bytes) else {
            continue;
        };
        stacks += 1;
        for (function, calls) in calls {
            let mine = all.entry(function).or_default();
            for (action, resource) in calls {
                let resource = rename(&resource, &placeholders, |l| own.get(l).cloned());
                mine.insert((action, resource));
            }
        }
    }
    Some((stacks, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resources_name_is_made_general_and_back_whole_names_only() {
        let names = vec![
            (
                "t1-PrivacyQueueDeadLetters".to_owned(),
                "PrivacyDlq".to_owned(),
            ),
            ("t1-PrivacyQueue".to_owned(), "PrivacyQueue".to_owned()),
            ("t1-outputs".to_owned(), "OutputsBucket".to_owned()),
            (
                "/t1/hash-secret".to_owned(),
                "HashSecretParameter".to_owned(),
            ),
        ];
        let general = |r: &str| rename(r, &names, |l| Some(format!("{{{l}}}")));
        assert_eq!(general("queue/t1-PrivacyQueue"), "queue/{PrivacyQueue}");
        assert_eq!(
            general("queue/t1-PrivacyQueueDeadLetters"),
            "queue/{PrivacyDlq}"
        );
        assert_eq!(
            general("bucket/t1-outputs/videos/vid_1.mp4"),
            "bucket/{OutputsBucket}/videos/vid_1.mp4"
        );
        assert_eq!(
            general("parameter/t1/hash-secret"),
            "parameter{HashSecretParameter}"
        );
        // Only a whole name: another stack's, or a longer one, stays as it is.
        assert_eq!(general("bucket/t1-outputs2/x"), "bucket/t1-outputs2/x");
        let back = [("{OutputsBucket}".to_owned(), "OutputsBucket".to_owned())];
        assert_eq!(
            rename("bucket/{OutputsBucket}/videos/a", &back, |_| Some(
                "t2-outputs".into()
            )),
            "bucket/t2-outputs/videos/a"
        );
    }
}
