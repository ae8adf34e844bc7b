//! Which CR of a kind came first in a namespace (older, or as old with a smaller name): the one
//! that does the job there when only one may (one Eventing CR, one Kyma CR per namespace).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub fn rank(meta: &ObjectMeta) -> (Option<k8s_openapi::jiff::Timestamp>, Option<String>) {
    (meta.creation_timestamp.clone().map(|t| t.0), meta.name.clone())
}

/// The first of `others` in `me`'s namespace that came before `me`, if any.
pub fn earlier<'a>(me: &ObjectMeta, others: impl Iterator<Item = &'a ObjectMeta>) -> Option<&'a ObjectMeta> {
    let mine = rank(me);
    others
        .filter(|other| other.namespace == me.namespace && other.uid != me.uid)
        .filter(|other| rank(other) < mine)
        .min_by_key(|other| rank(other))
}
