//! Creates on the local AWS endpoint every table and mail identity the template
//! declares, with the same keys, indexes and TTL. Safe to run again: what exists is kept.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;

use crate::template::{Template, string_or_ref};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{resource}: {message}")]
    Resource { resource: String, message: String },
}

fn err(resource: &str, message: impl std::fmt::Display) -> ProvisionError {
    ProvisionError::Resource {
        resource: resource.to_owned(),
        message: message.to_string(),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn key_schema(v: &Value) -> Vec<KeySchemaElement> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(str_of(k, "AttributeName")?)
                .key_type(KeyType::from(str_of(k, "KeyType")?))
                .build()
                .ok()
        })
        .collect()
}

/// Creates one table from its template properties under `name`.
pub async fn create_table(
    ddb: &aws_sdk_dynamodb::Client,
    logical_id: &str,
    name: &str,
    props: &Value,
) -> Result<(), ProvisionError> {
    let attributes = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            AttributeDefinition::builder()
                .attribute_name(str_of(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(str_of(a, "AttributeType")?))
                .build()
                .ok()
        })
        .collect::<Vec<_>>();
    let mut req = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(
            props.get("KeySchema").unwrap_or(&Value::Null),
        )));
    for gsi in props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let projection = gsi
            .get("Projection")
            .and_then(|p| str_of(p, "ProjectionType"))
            .unwrap_or("ALL");
        let index = GlobalSecondaryIndex::builder()
            .index_name(str_of(gsi, "IndexName").unwrap_or_default())
            .set_key_schema(Some(key_schema(
                gsi.get("KeySchema").unwrap_or(&Value::Null),
            )))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(projection))
                    .build(),
            )
            .build()
            .map_err(|e| err(logical_id, e))?;
        req = req.global_secondary_indexes(index);
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => {
            return Err(err(
                logical_id,
                aws_sdk_dynamodb::error::DisplayErrorContext(e),
            ));
        }
    }
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(str_of(ttl, "AttributeName").unwrap_or("ttl"))
            .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
            .build()
            .map_err(|e| err(logical_id, e))?;
        // Setting the same TTL twice is refused by DynamoDB; that is fine here.
        let _ = ddb
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await;
    }
    Ok(())
}

/// Creates everything the template declares; `physical` names each resource and
/// `resolve` gives the local value of each `!Ref`.
pub async fn provision(
    template: &Template,
    ddb: &aws_sdk_dynamodb::Client,
    ses: &aws_sdk_sesv2::Client,
    physical: &dyn Fn(&str) -> String,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ProvisionError> {
    for table in template.resources_of("AWS::DynamoDB::Table") {
        create_table(
            ddb,
            table.logical_id,
            &physical(table.logical_id),
            table.properties,
        )
        .await?;
    }
    for identity in template.resources_of("AWS::SES::EmailIdentity") {
        let address = identity
            .properties
            .get("EmailIdentity")
            .and_then(|v| string_or_ref(v, resolve))
            .ok_or_else(|| err(identity.logical_id, "EmailIdentity has no local value"))?;
        match ses
            .create_email_identity()
            .email_identity(address)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) => {}
            Err(e) => {
                return Err(err(
                    identity.logical_id,
                    aws_sdk_sesv2::error::DisplayErrorContext(e),
                ));
            }
        }
    }
    Ok(())
}
