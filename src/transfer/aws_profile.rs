//! AWS named profiles (`storage.s3.profile`, `AWS_PROFILE`): `object_store` reads the `AWS_*`
//! variables but not `~/.aws/credentials` and `~/.aws/config`, so pgtide reads the static
//! keys, the region and the endpoint of a profile itself. Profiles that get credentials by
//! assuming a role, through SSO or an external process are refused with a message saying so:
//! `object_store` cannot do those.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One profile's values, by their INI names (`aws_access_key_id`, `region`, …).
pub(crate) type Profile = BTreeMap<String, String>;

/// The sections of an AWS INI file: `[name]` (credentials) or `[profile name]` (config;
/// `[default]` there too), each as its profile name with its `key = value` lines. Comment
/// lines (`#`, `;`) and blank lines are skipped; an indented line continues a nested block
/// (`s3 =` sub-settings), which is skipped.
pub(crate) fn parse(text: &str, config_file: bool) -> BTreeMap<String, Profile> {
    let mut out: BTreeMap<String, Profile> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue; // nested sub-settings
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.trim();
            let name = if config_file {
                match header.strip_prefix("profile ") {
                    Some(name) => Some(name.trim()),
                    None if header == "default" => Some("default"),
                    None => None, // [sso-session …], [services …]
                }
            } else {
                Some(header)
            };
            current = name.map(str::to_owned);
            if let Some(name) = &current {
                out.entry(name.clone()).or_default();
            }
            continue;
        }
        if let (Some(profile), Some((key, value))) = (&current, line.split_once('=')) {
            let value = value.trim();
            // An inline comment needs a space before it.
            let value = value
                .find(" #")
                .or_else(|| value.find(" ;"))
                .map_or(value, |i| value[..i].trim_end());
            out.entry(profile.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.to_owned());
        }
    }
    out
}

/// Where the two files are: `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`, else under
/// `~/.aws/` (`HOME`, or `USERPROFILE` on Windows).
pub(crate) fn files(env: &dyn Fn(&str) -> Option<String>) -> (Option<PathBuf>, Option<PathBuf>) {
    let home = env("HOME")
        .or_else(|| env("USERPROFILE"))
        .map(|h| Path::new(&h).join(".aws"));
    let credentials = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join("credentials")));
    let config = env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join("config")));
    (credentials, config)
}

/// The profile `name` from the two files (a missing file is empty; the credentials file
/// wins key by key), as `object_store` configuration pairs. An error says which profile and
/// which files, or why the profile cannot be used.
pub(crate) fn load(
    name: &str,
    credentials: Option<&Path>,
    config: Option<&Path>,
) -> Result<Vec<(&'static str, String)>, String> {
    let read = |path: Option<&Path>, config_file: bool| -> Result<Option<Profile>, String> {
        let Some(path) = path else { return Ok(None) };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(parse(&text, config_file).remove(name)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    };
    let from_config = read(config, true)?;
    let from_credentials = read(credentials, false)?;
    if from_config.is_none() && from_credentials.is_none() {
        let shown =
            |p: Option<&Path>| p.map_or_else(|| "(no home)".into(), |p| p.display().to_string());
        return Err(format!(
            "AWS profile {name:?} is in neither {} nor {}",
            shown(credentials),
            shown(config)
        ));
    }
    let mut profile = from_config.unwrap_or_default();
    profile.extend(from_credentials.unwrap_or_default());
    let indirect = [
        "role_arn",
        "sso_session",
        "sso_start_url",
        "credential_process",
    ]
    .into_iter()
    .find(|k| profile.contains_key(*k));
    if let (false, Some(how)) = (profile.contains_key("aws_access_key_id"), indirect) {
        return Err(format!(
            "AWS profile {name:?} gets its credentials through `{how}`, which pgtide cannot use \
             (object_store has no role, SSO or process credentials): give the profile static keys, \
             or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (e.g. from `aws configure export-credentials`)"
        ));
    }
    let pairs = [
        ("aws_access_key_id", "aws_access_key_id"),
        ("aws_secret_access_key", "aws_secret_access_key"),
        ("aws_session_token", "aws_session_token"),
        ("region", "aws_region"),
        ("endpoint_url", "aws_endpoint"),
    ];
    Ok(pairs
        .into_iter()
        .filter_map(|(ini, key)| profile.get(ini).map(|v| (key, v.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# comment
[default]
region = us-east-1

[profile analytics]
region = eu-west-1 # inline
endpoint_url = http://127.0.0.1:9000
s3 =
  addressing_style = path

[profile assumed]
role_arn = arn:aws:iam::123:role/x
source_profile = default

[sso-session corp]
sso_region = us-east-1
";
    const CREDENTIALS: &str = "\
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = default-secret

; another comment
[analytics]
aws_access_key_id=AKIDANALYTICS
aws_secret_access_key = analytics/secret+with=equals
aws_session_token = token
";

    #[test]
    fn both_files_parse_into_profiles() {
        let config = parse(CONFIG, true);
        assert_eq!(
            config.keys().collect::<Vec<_>>(),
            ["analytics", "assumed", "default"]
        );
        assert_eq!(config["analytics"]["region"], "eu-west-1");
        assert!(!config["analytics"].contains_key("addressing_style"));
        let credentials = parse(CREDENTIALS, false);
        assert_eq!(
            credentials["analytics"]["aws_secret_access_key"],
            "analytics/secret+with=equals"
        );
        assert_eq!(
            credentials["analytics"]["aws_access_key_id"],
            "AKIDANALYTICS"
        );
    }

    fn home() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pgtide-aws-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(dir.join(".aws")).unwrap();
        std::fs::write(dir.join(".aws/config"), CONFIG).unwrap();
        std::fs::write(dir.join(".aws/credentials"), CREDENTIALS).unwrap();
        dir
    }

    #[test]
    fn a_profile_merges_both_files_found_from_home_or_the_variables() {
        let home = home();
        let h = home.display().to_string();
        let (credentials, config) = files(&|k| (k == "HOME").then(|| h.clone()));
        assert_eq!(config.as_deref(), Some(home.join(".aws/config").as_path()));
        let pairs = load("analytics", credentials.as_deref(), config.as_deref()).unwrap();
        assert_eq!(
            pairs,
            [
                ("aws_access_key_id", "AKIDANALYTICS".to_string()),
                (
                    "aws_secret_access_key",
                    "analytics/secret+with=equals".into()
                ),
                ("aws_session_token", "token".into()),
                ("aws_region", "eu-west-1".into()),
                ("aws_endpoint", "http://127.0.0.1:9000".into()),
            ]
        );
        // The variables win over HOME.
        let elsewhere = home.join("elsewhere");
        std::fs::write(&elsewhere, "[analytics]\naws_access_key_id = OTHER\n").unwrap();
        let e = elsewhere.display().to_string();
        let (credentials, _) = files(&|k| match k {
            "HOME" => Some(h.clone()),
            "AWS_SHARED_CREDENTIALS_FILE" => Some(e.clone()),
            _ => None,
        });
        let pairs = load("analytics", credentials.as_deref(), config.as_deref()).unwrap();
        assert_eq!(pairs[0], ("aws_access_key_id", "OTHER".to_string()));

        let missing = load("nope", credentials.as_deref(), config.as_deref()).unwrap_err();
        assert!(missing.contains("\"nope\" is in neither"), "{missing}");
        let assumed = load("assumed", None, config.as_deref()).unwrap_err();
        assert!(assumed.contains("`role_arn`"), "{assumed}");
        std::fs::remove_dir_all(&home).unwrap();
    }
}
