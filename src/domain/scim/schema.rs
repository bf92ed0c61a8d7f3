//! What Wharf's SCIM service provider is: the URNs, the attributes of each resource, and
//! the discovery documents (`ServiceProviderConfig`, `ResourceTypes`, `Schemas`) built
//! from them. The attribute lists here are also what `attributes`, `excludedAttributes`
//! and PATCH paths are checked against, so discovery cannot advertise what the resources
//! do not have.

use serde_json::{json, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Docker's extension of the user: `dockerRole`, `dockerOrg`, `dockerTeam`.
pub const DOCKER_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:docker:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The most resources one list response holds (`filter.maxResults`).
pub const MAX_RESULTS: i64 = 200;

/// One attribute of a schema (RFC 7643 §7).
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    kind: &'static str,
    multi_valued: bool,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    returned: &'static str,
    uniqueness: &'static str,
    description: &'static str,
    canonical_values: &'static [&'static str],
    reference_types: &'static [&'static str],
    pub sub_attributes: &'static [Attribute],
}

const fn attribute(name: &'static str, kind: &'static str, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        returned: "default",
        uniqueness: "none",
        description,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
    }
}

impl Attribute {
    const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.mutability = "readOnly";
        self
    }
    const fn always(mut self) -> Self {
        self.returned = "always";
        self
    }
    const fn unique(mut self) -> Self {
        self.uniqueness = "server";
        self
    }
    const fn immutable(mut self) -> Self {
        self.mutability = "immutable";
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }
    const fn references(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }
    const fn with(mut self, sub: &'static [Attribute]) -> Self {
        self.sub_attributes = sub;
        self
    }

    pub fn is_multi_valued(&self) -> bool {
        self.multi_valued
    }

    pub fn is_required(&self) -> bool {
        self.required
    }

    /// Whether requests may not change it (read-only or immutable).
    pub fn is_read_only(&self) -> bool {
        self.mutability != "readWrite"
    }

    /// The sub-attribute named `name`, ignoring case.
    pub fn sub(&self, name: &str) -> Option<&'static Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn document(&self) -> Value {
        let mut doc = json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        });
        if !self.canonical_values.is_empty() {
            doc["canonicalValues"] = json!(self.canonical_values);
        }
        if !self.reference_types.is_empty() {
            doc["referenceTypes"] = json!(self.reference_types);
        }
        if !self.sub_attributes.is_empty() {
            doc["subAttributes"] = self.sub_attributes.iter().map(Attribute::document).collect();
        }
        doc
    }
}

/// Attributes every resource has (RFC 7643 §3.1), not listed in the schemas.
pub const COMMON: &[Attribute] = &[
    attribute("id", "string", "Unique identifier of the resource")
        .exact()
        .read_only()
        .always()
        .unique(),
    attribute(
        "externalId",
        "string",
        "Identifier of the resource in the identity provider",
    )
    .exact(),
    attribute("meta", "complex", "Resource metadata")
        .read_only()
        .with(&[
            attribute("resourceType", "string", "The resource type").read_only(),
            attribute("created", "dateTime", "When the resource was created").read_only(),
            attribute("lastModified", "dateTime", "When the resource was last changed").read_only(),
            attribute("location", "reference", "The URI of the resource").read_only(),
        ]),
];

const EMAIL: &[Attribute] = &[
    attribute("value", "string", "The email address"),
    attribute("type", "string", "The kind of address").canonical(&["work", "home", "other"]),
    attribute("primary", "boolean", "The address filters and new accounts use"),
    attribute("display", "string", "The email address, for display"),
];

const MEMBER_REF: &[Attribute] = &[
    attribute("value", "string", "The id of the member")
        .exact()
        .immutable(),
    attribute("display", "string", "The member's name").read_only(),
    // RFC 7643 types this "reference"; Docker Hub's spec allows only string, boolean and
    // complex attribute types, and a reference is a URI string, so it says "string".
    attribute("$ref", "string", "The URI of the member")
        .read_only()
        .references(&["User", "Group"]),
];

const GROUP_REF: &[Attribute] = &[
    attribute("value", "string", "The id of the team")
        .exact()
        .read_only(),
    attribute("display", "string", "The team's name").read_only(),
    attribute("$ref", "string", "The URI of the group")
        .read_only()
        .references(&["Group"]),
];

pub const USER_ATTRIBUTES: &[Attribute] = &[
    attribute(
        "userName",
        "string",
        "The user's login at the identity provider; on Docker Hub, the email",
    )
    .required()
    .unique(),
    attribute("name", "complex", "The user's name").with(&[
        attribute("givenName", "string", "Given name"),
        attribute("familyName", "string", "Family name"),
        attribute("formatted", "string", "Full name, for display").read_only(),
    ]),
    // The username: a POST may suggest it for a new account; it is never changed after.
    attribute("displayName", "string", "The Docker ID (username)").read_only(),
    attribute(
        "active",
        "boolean",
        "Whether the user is a member of the organization",
    )
    .required(),
    attribute("emails", "complex", "The user's email addresses")
        .multi()
        .with(EMAIL),
    attribute("groups", "complex", "The teams the user is in")
        .multi()
        .read_only()
        .with(GROUP_REF),
];

pub const DOCKER_USER_ATTRIBUTES: &[Attribute] = &[
    attribute(
        "dockerRole",
        "string",
        "Role in the organization: member, editor or owner (default member)",
    )
    .canonical(&["member", "editor", "owner"]),
    attribute("dockerOrg", "string", "The organization; only the token's own").read_only(),
    attribute(
        "dockerTeam",
        "string",
        "A team the user joins; created when missing",
    ),
];

pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    attribute("displayName", "string", "The team: \"team\" or \"org:team\"")
        .required()
        .unique(),
    attribute("members", "complex", "The team's members")
        .multi()
        .with(MEMBER_REF),
];

/// A resource type and its schemas.
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub schema: &'static str,
    pub attributes: &'static [Attribute],
    pub extension: Option<(&'static str, &'static [Attribute])>,
}

pub const USER: ResourceType = ResourceType {
    name: "User",
    endpoint: "/Users",
    schema: USER_SCHEMA,
    attributes: USER_ATTRIBUTES,
    extension: Some((DOCKER_USER_SCHEMA, DOCKER_USER_ATTRIBUTES)),
};

pub const GROUP: ResourceType = ResourceType {
    name: "Group",
    endpoint: "/Groups",
    schema: GROUP_SCHEMA,
    attributes: GROUP_ATTRIBUTES,
    extension: None,
};

pub const RESOURCE_TYPES: [&ResourceType; 2] = [&USER, &GROUP];

impl ResourceType {
    /// The top-level attribute `name` of this resource (schema attributes and the common
    /// ones), ignoring case.
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes
            .iter()
            .chain(COMMON)
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The extension attribute `name`, ignoring case.
    pub fn extension_attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.extension
            .and_then(|(_, attributes)| attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name)))
    }

    fn document(&self, base: &str) -> Value {
        let mut doc = json!({
            "schemas": [RESOURCE_TYPE],
            "id": self.name,
            "name": self.name,
            "description": self.name,
            "endpoint": self.endpoint,
            "schema": self.schema,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", self.name)},
        });
        if let Some((urn, _)) = self.extension {
            doc["schemaExtensions"] = json!([{"schema": urn, "required": false}]);
        }
        doc
    }
}

/// `GET /ServiceProviderConfig`: only what works is advertised.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        // No `documentationUri`: the spec's example has "", but RFC 7643 makes it an
        // optional URL, and an empty one breaks strict clients.
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "name": "OAuth 2.0 Bearer Token",
            "description": "The organization's SCIM token, sent as a bearer token",
            "specUri": "http://tools.ietf.org/html/rfc6750",
            "type": "oauthbearertoken",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

/// `GET /ResourceTypes/{name}`.
pub fn resource_type(base: &str, name: &str) -> Option<Value> {
    RESOURCE_TYPES
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.document(base))
}

/// Every resource type.
pub fn resource_types(base: &str) -> Vec<Value> {
    RESOURCE_TYPES.iter().map(|t| t.document(base)).collect()
}

fn schema_document(base: &str, id: &str, name: &str, description: &str, attributes: &[Attribute]) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(Attribute::document).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

/// Every schema.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema_document(base, USER_SCHEMA, "User", "User Account", USER_ATTRIBUTES),
        schema_document(
            base,
            GROUP_SCHEMA,
            "Group",
            "Group: a team of the organization",
            GROUP_ATTRIBUTES,
        ),
        schema_document(
            base,
            DOCKER_USER_SCHEMA,
            "DockerUser",
            "Docker's extension of the user",
            DOCKER_USER_ATTRIBUTES,
        ),
    ]
}

/// `GET /Schemas/{id}`.
pub fn schema(base: &str, id: &str) -> Option<Value> {
    schemas(base).into_iter().find(|s| s["id"] == id)
}

/// A ListResponse of `resources`, `total` in all, starting at `start_index`.
pub fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
