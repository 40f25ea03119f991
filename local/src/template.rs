//! Reads `infra/template.yaml`, the single declaration of every table, bucket, queue
//! and environment variable, so the local stack creates exactly what AWS would.

use std::collections::BTreeMap;

pub use serde_norway::Value;

/// A value as YAML text (for checks that search a part of the template).
pub fn yaml_text(value: &Value) -> String {
    serde_norway::to_string(value).unwrap_or_default()
}

/// YAML text as a value: the one YAML reader of the local stack and the tests.
pub fn parse_yaml(text: &str) -> Result<Value, serde_norway::Error> {
    serde_norway::from_str(text)
}

/// The template, embedded at build time.
pub const TEMPLATE_YAML: &str = include_str!("../../infra/template.yaml");

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("template: {0}")]
    Shape(String),
}

#[derive(Debug, Clone)]
pub struct Template {
    root: Value,
}

/// One declared resource.
#[derive(Debug, Clone)]
pub struct Resource<'a> {
    pub logical_id: &'a str,
    pub kind: &'a str,
    pub properties: &'a Value,
}

impl Template {
    pub fn load() -> Result<Self, TemplateError> {
        Self::parse(TEMPLATE_YAML)
    }

    pub fn parse(yaml: &str) -> Result<Self, TemplateError> {
        Ok(Self {
            root: serde_norway::from_str(yaml)?,
        })
    }

    /// The whole template, for checks that read it as a document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    pub fn resources(&self) -> Vec<Resource<'_>> {
        let Some(map) = self.root.get("Resources").and_then(Value::as_mapping) else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(k, v)| {
                Some(Resource {
                    logical_id: k.as_str()?,
                    kind: v.get("Type")?.as_str()?,
                    properties: v.get("Properties").unwrap_or(&Value::Null),
                })
            })
            .collect()
    }

    pub fn resources_of(&self, kind: &str) -> Vec<Resource<'_>> {
        self.resources()
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect()
    }

    /// The environment the template gives one function: `Globals` merged with the
    /// function's own variables, each `!Ref` resolved by `resolve`.
    pub fn function_environment(
        &self,
        logical_id: &str,
        resolve: impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        let mut env = BTreeMap::new();
        let globals = self
            .root
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"));
        let own = self
            .resources_of("AWS::Serverless::Function")
            .into_iter()
            .find(|f| f.logical_id == logical_id)
            .ok_or_else(|| TemplateError::Shape(format!("no function {logical_id}")))?
            .properties
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .cloned();
        for vars in globals.into_iter().chain(own.as_ref()) {
            let Some(vars) = vars.as_mapping() else {
                continue;
            };
            for (name, value) in vars {
                let name = name
                    .as_str()
                    .ok_or_else(|| TemplateError::Shape("variable name".into()))?;
                let value = match value {
                    Value::String(s) => s.clone(),
                    Value::Tagged(t) if t.tag == "!Ref" => {
                        let target = t.value.as_str().unwrap_or_default();
                        resolve(target).ok_or_else(|| {
                            TemplateError::Shape(format!("{name}: nothing local for !Ref {target}"))
                        })?
                    }
                    // `!Sub "…${Name}…"`: each name as `!Ref` would give it.
                    Value::Tagged(t) if t.tag == "!Sub" && t.value.is_string() => {
                        let mut text = t.value.as_str().unwrap_or_default().to_owned();
                        while let Some(start) = text.find("${") {
                            let end = text[start..].find('}').ok_or_else(|| {
                                TemplateError::Shape(format!("{name}: unclosed ${{ in !Sub"))
                            })? + start;
                            let target = text[start + 2..end].to_owned();
                            let value = resolve(&target).ok_or_else(|| {
                                TemplateError::Shape(format!(
                                    "{name}: nothing local for ${{{target}}}"
                                ))
                            })?;
                            text.replace_range(start..=end, &value);
                        }
                        text
                    }
                    other => {
                        return Err(TemplateError::Shape(format!(
                            "{name}: unsupported value {other:?}"
                        )));
                    }
                };
                env.insert(name.to_owned(), value);
            }
        }
        Ok(env)
    }

    /// Every function's logical id and binary name.
    pub fn functions(&self) -> Vec<(String, String)> {
        self.resources_of("AWS::Serverless::Function")
            .iter()
            .filter_map(|f| Some((f.logical_id.to_owned(), self.function_binary(f.logical_id)?)))
            .collect()
    }

    pub fn function_binary(&self, logical_id: &str) -> Option<String> {
        self.root
            .get("Resources")?
            .get(logical_id)?
            .get("Metadata")?
            .get("BuildProperties")?
            .get("Binary")?
            .as_str()
            .map(str::to_owned)
    }

    /// A parameter's `Default`, if it has one.
    pub fn parameter_default(&self, name: &str) -> Option<String> {
        self.root
            .get("Parameters")?
            .get(name)?
            .get("Default")
            .and_then(|d| match d {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    }

    /// Whether the condition `name` of the template's `Conditions` holds, each
    /// parameter taking `param`'s value or else its default. Only what the template
    /// uses is read (`!Equals`, `!Not`, `!And`, `!Or`, `!Condition`, `!Ref` of a
    /// parameter); anything else is `None`.
    pub fn condition(&self, name: &str, param: &dyn Fn(&str) -> Option<String>) -> Option<bool> {
        let body = self.root.get("Conditions")?.get(name)?;
        self.holds(body, param)
    }

    fn holds(&self, v: &Value, param: &dyn Fn(&str) -> Option<String>) -> Option<bool> {
        let Value::Tagged(t) = v else {
            return None;
        };
        let args = || t.value.as_sequence().into_iter().flatten();
        match t.tag.to_string().as_str() {
            "!Equals" => {
                let sides: Vec<String> = args()
                    .map(|a| self.scalar(a, param))
                    .collect::<Option<_>>()?;
                Some(sides.len() == 2 && sides[0] == sides[1])
            }
            "!Not" => Some(!self.holds(args().next()?, param)?),
            "!And" => args()
                .map(|a| self.holds(a, param))
                .try_fold(true, |all, h| Some(all && h?)),
            "!Or" => args()
                .map(|a| self.holds(a, param))
                .try_fold(false, |any, h| Some(any || h?)),
            "!Condition" => self.condition(t.value.as_str()?, param),
            _ => None,
        }
    }

    fn scalar(&self, v: &Value, param: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Tagged(t) if t.tag == "!Ref" => {
                let name = t.value.as_str()?;
                param(name).or_else(|| self.parameter_default(name))
            }
            _ => None,
        }
    }

    /// The items of a list as CloudFormation would have it: an item
    /// `!If [Condition, then, else]` is `then` or `else`, and `!Ref AWS::NoValue` is no
    /// item. `None` if a condition cannot be read.
    pub fn list_items<'a>(
        &self,
        list: &'a Value,
        param: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Vec<&'a Value>> {
        let mut items = Vec::new();
        for item in list.as_sequence().into_iter().flatten() {
            let chosen = match item {
                Value::Tagged(t) if t.tag == "!If" => {
                    let parts = t.value.as_sequence()?;
                    let [cond, then, otherwise] = parts.as_slice() else {
                        return None;
                    };
                    if self.condition(cond.as_str()?, param)? {
                        then
                    } else {
                        otherwise
                    }
                }
                other => other,
            };
            let no_value = matches!(chosen, Value::Tagged(t)
                if t.tag == "!Ref" && t.value.as_str() == Some("AWS::NoValue"));
            if !no_value {
                items.push(chosen);
            }
        }
        Some(items)
    }

    /// The names of the template's parameters.
    pub fn parameters(&self) -> Vec<String> {
        self.root
            .get("Parameters")
            .and_then(Value::as_mapping)
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}
