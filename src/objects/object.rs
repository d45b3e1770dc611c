//! Stage 3's output: every object as a typed value, serialized only by the
//! bundle. `Object` has one variant per kind redis-gen emits; `Kind` names
//! them (from each type's `Resource::KIND`, never a literal), and `ObjectId`
//! is what names an object in a cluster. The three custom resources of CRDs
//! that k8s-openapi does not know implement its `Resource` and `Metadata`
//! traits, so their apiVersion and kind come from the type as well.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, NamespaceResourceScope, Resource};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::alerts::PrometheusRule;
use super::monitoring::ServiceMonitor;
use super::secrets::SealedSecret;

/// What names an object in a cluster: two releases may not both create one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub kind: Kind,
    /// `None` for cluster-scoped objects (the Namespace).
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// `Object`, `Kind` and their conversions from one list of (variant, type).
macro_rules! objects {
    ($($kind:ident($ty:ty)),* $(,)?) => {
        /// One object of the release.
        #[derive(Debug, Clone)]
        pub enum Object {
            $($kind($ty)),*
        }

        /// The kinds of object redis-gen emits.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($kind),*
        }

        impl Kind {
            /// The `kind` field of objects of this kind.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$kind => <$ty as Resource>::KIND),*
                }
            }
        }

        impl Object {
            pub fn kind(&self) -> Kind {
                match self {
                    $(Object::$kind(_) => Kind::$kind),*
                }
            }

            fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Object::$kind(o) => o.metadata()),*
                }
            }
        }

        /// An object serializes as the object it holds.
        impl Serialize for Object {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Object::$kind(o) => o.serialize(s)),*
                }
            }
        }

        $(
            impl From<$ty> for Object {
                fn from(o: $ty) -> Object {
                    Object::$kind(o)
                }
            }

            /// Tests look into the objects of one type.
            #[cfg(test)]
            impl TryFrom<Object> for $ty {
                type Error = Object;

                fn try_from(o: Object) -> Result<$ty, Object> {
                    match o {
                        Object::$kind(o) => Ok(o),
                        other => Err(other),
                    }
                }
            }
        )*
    };
}

objects! {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    SealedSecret(SealedSecret),
    ConfigMap(ConfigMap),
    Service(Service),
    StatefulSet(StatefulSet),
    Deployment(Deployment),
    PodDisruptionBudget(PodDisruptionBudget),
    NetworkPolicy(NetworkPolicy),
    ServiceMonitor(ServiceMonitor),
    PrometheusRule(PrometheusRule),
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Object {
    pub fn id(&self) -> ObjectId {
        let m = self.metadata();
        ObjectId { kind: self.kind(), namespace: m.namespace.clone(), name: m.name.clone().unwrap_or_default() }
    }
}

/// Group, version, kind and plural of a custom resource's spec.
pub trait CustomResourceSpec {
    const GROUP: &'static str;
    const VERSION: &'static str;
    const API_VERSION: &'static str;
    const KIND: &'static str;
    const URL_PATH_SEGMENT: &'static str;
}

/// A namespaced custom resource of a CRD that k8s-openapi does not know
/// (SealedSecret, ServiceMonitor, PrometheusRule): the same envelope around
/// a typed spec.
#[derive(Debug, Clone)]
pub struct CustomResource<S> {
    pub metadata: ObjectMeta,
    pub spec: S,
}

impl<S: CustomResourceSpec> Resource for CustomResource<S> {
    const API_VERSION: &'static str = S::API_VERSION;
    const GROUP: &'static str = S::GROUP;
    const KIND: &'static str = S::KIND;
    const VERSION: &'static str = S::VERSION;
    const URL_PATH_SEGMENT: &'static str = S::URL_PATH_SEGMENT;
    type Scope = NamespaceResourceScope;
}

impl<S: CustomResourceSpec> Metadata for CustomResource<S> {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl<S: CustomResourceSpec + Serialize> Serialize for CustomResource<S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        let mut out = s.serialize_struct("CustomResource", 4)?;
        out.serialize_field("apiVersion", S::API_VERSION)?;
        out.serialize_field("kind", S::KIND)?;
        out.serialize_field("metadata", &self.metadata)?;
        out.serialize_field("spec", &self.spec)?;
        out.end()
    }
}

/// `impl CustomResourceSpec for $spec` with apiVersion `$group/$version`.
macro_rules! custom_resource {
    ($spec:ty, $group:literal, $version:literal, $kind:literal, $plural:literal) => {
        impl $crate::objects::object::CustomResourceSpec for $spec {
            const GROUP: &'static str = $group;
            const VERSION: &'static str = $version;
            const API_VERSION: &'static str = concat!($group, "/", $version);
            const KIND: &'static str = $kind;
            const URL_PATH_SEGMENT: &'static str = $plural;
        }
    };
}
pub(crate) use custom_resource;
