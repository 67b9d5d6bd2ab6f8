//! Chooses the response form from the Accept header: a plain object/list, a server-side
//! Table, or PartialObjectMetadata(List), as upstream's content negotiation does.

use axum::http::HeaderMap;

/// The response form a client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The object or list itself.
    Object,
    /// meta.k8s.io/v1 Table.
    Table,
    /// meta.k8s.io/v1 PartialObjectMetadata (or its List).
    Metadata,
}

/// Picks the first supported media type of the Accept header.
pub fn output(headers: &HeaderMap) -> Output {
    let accept = headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    for candidate in accept.split(',') {
        let mut parts = candidate.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if !matches!(media, "application/json" | "*/*" | "application/*" | "application/yaml") {
            continue;
        }
        let (mut as_, mut g, mut v) = ("", "", "");
        for p in parts {
            match p.split_once('=') {
                Some(("as", x)) => as_ = x,
                Some(("g", x)) => g = x,
                Some(("v", x)) => v = x,
                _ => {}
            }
        }
        match as_ {
            "" => return Output::Object,
            "Table" if g == "meta.k8s.io" && (v == "v1" || v == "v1beta1") => return Output::Table,
            "PartialObjectMetadata" | "PartialObjectMetadataList" if g == "meta.k8s.io" && (v == "v1" || v == "v1beta1") => {
                return Output::Metadata
            }
            _ => continue,
        }
    }
    Output::Object
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(accept: &str) -> Output {
        let mut h = HeaderMap::new();
        h.insert("accept", accept.parse().unwrap());
        output(&h)
    }

    #[test]
    fn picks_the_first_supported() {
        assert_eq!(with("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"), Output::Table);
        assert_eq!(with("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"), Output::Metadata);
        assert_eq!(with("application/vnd.kubernetes.protobuf,application/json"), Output::Object);
        assert_eq!(with("application/json;as=Foo;g=x;v=y,application/json"), Output::Object);
    }
}
