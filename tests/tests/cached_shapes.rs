//! Every function shape `#[cached]` must keep working on, compiled under strict lints, and
//! called once so that the expansion is exercised, not just type-checked.
#![deny(
    warnings,
    clippy::all,
    unused_qualifications,
    clippy::needless_return,
    dead_code
)]
#![allow(missing_docs, unreachable_pub)]

use std::borrow::Cow;
use std::fmt::Display;
use std::sync::Arc;

use cache_core::{MemoryBackend, cached, with_backend};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    id: u64,
    name: String,
}

#[derive(Debug, PartialEq)]
pub struct NotFound;

/// Doc comments and visibility are kept.
#[cached(key = "free:<id>", ttl = 300)]
pub async fn free(id: u64) -> Item {
    Item {
        id,
        name: "free".to_owned(),
    }
}

#[cached(key = "result:<id>", ttl = "5m")]
pub(crate) async fn with_question_mark(id: u64) -> Result<u64, String> {
    let parsed: u64 = "41".parse().map_err(|_| "not a number".to_owned())?;
    if id == 0 {
        return Err("zero".to_owned());
    }
    Ok(parsed + id)
}

#[cached]
async fn option_early_return(id: u32) -> Option<u32> {
    if id > 100 {
        return None;
    }
    Some(id * 2)
}

#[cached(key = "generic:<value>")]
async fn generic<T>(value: T) -> T
where
    T: cache_core::KeyPart
        + Clone
        + Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    value
}

#[cached(key = "impl:<id>")]
async fn impl_trait_arg(id: u64, label: impl Display + Send) -> String {
    format!("{label}:{id}")
}

#[cached(key = "refs:<name>")]
async fn references<'a>(name: &'a str, _unused: &'a [u8]) -> String {
    name.to_uppercase()
}

#[cached(key = "cow:<name>")]
async fn cow(name: Cow<'_, str>) -> usize {
    name.len()
}

#[cached(key = "pattern:<id>", companions = false)]
async fn pattern_param(id: u64, (a, b): (u64, u64)) -> u64 {
    id + a + b
}

#[cached(key = "patterns:<id>")]
async fn patterns(id: u64, (a, b): (u64, u64), _: u8) -> u64 {
    id + a + b
}

#[cached]
async fn no_params() -> Vec<String> {
    vec!["a".to_owned()]
}

#[cached(key = "mut:<id>")]
async fn mut_param(mut id: u64) -> u64 {
    id += 1;
    id
}

#[cached(key = "attrs:<id>")]
async fn with_attributes(id: u64) -> u64 {
    #![allow(unused_mut, clippy::let_and_return)]
    let mut doubled = id * 2;
    doubled
}

#[cached(key = "outer:<id>")]
#[allow(clippy::let_and_return)]
#[inline]
async fn with_outer_attributes(id: u64) -> u64 {
    let tripled = id * 3;
    tripled
}

#[cached(key = "cfg:<id>")]
async fn cfg_param(id: u64, #[cfg(any())] never: u64) -> u64 {
    id
}

#[cached(key = "unless:<id>", unless = |items: &Vec<u64>| items.is_empty())]
async fn unless_closure(id: u64) -> Vec<u64> {
    (0..id).collect()
}

fn is_negative(value: &Result<i64, String>) -> bool {
    matches!(value, Ok(v) if *v < 0)
}

#[cached(key = "unless_path:<id>", unless = is_negative)]
async fn unless_path(id: i64) -> Result<i64, String> {
    Ok(id - 10)
}

#[cached(key = "cache_err:<id>", cache_err)]
async fn cache_err(id: u64) -> Result<u64, String> {
    Err(format!("no {id}"))
}

#[cached(
    key = "cache_none:<id>",
    cache_none = true,
    timeout = "250ms",
    backend = "shapes"
)]
async fn cache_none(id: u64) -> Option<u64> {
    id.checked_sub(1)
}

const TEN_SECONDS: std::time::Duration = std::time::Duration::from_secs(10);
const BACKEND: &str = "shapes";

#[cached(key = "const:<id>", ttl = TEN_SECONDS, backend = BACKEND)]
async fn const_options(id: u64) -> u64 {
    id
}

#[derive(Debug)]
pub struct Repo {
    tenant: String,
    hits: u64,
}

impl Repo {
    #[cached(key = "repo:<self.tenant>:<id>", ttl = "1h30m")]
    pub async fn find(&self, id: u64) -> Option<Item> {
        Some(Item {
            id,
            name: self.tenant.clone(),
        })
    }

    #[cached(key = "repo_mut:<self.tenant>:<id>")]
    async fn find_mut(&mut self, id: u64) -> u64 {
        self.hits += 1;
        id + self.hits
    }

    #[cached(key = "repo_arc:<self.tenant>:<id>")]
    async fn find_arc(self: Arc<Self>, id: u64) -> String {
        format!("{}:{id}", self.tenant)
    }

    #[cached(key = "repo_owned:<self.tenant>")]
    async fn into_tenant(self) -> String {
        self.tenant
    }

    #[cached(key = "repo_mut_owned:<self.tenant>")]
    async fn into_counted(mut self) -> u64 {
        self.hits += 1;
        self.hits
    }

    #[cached]
    async fn associated(id: u64) -> Self {
        Self {
            tenant: id.to_string(),
            hits: 0,
        }
    }

    #[cached(key = "repo_generic:<self.tenant>:<key>")]
    async fn generic_method<K: cache_core::KeyPart + Display + Sync>(&self, key: K) -> String {
        format!("{}{key}", self.tenant)
    }
}

// Serialize/Deserialize for the `associated` constructor above.
impl Serialize for Repo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.tenant.serialize(serializer)
    }
}
impl<'de> Deserialize<'de> for Repo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self {
            tenant: String::deserialize(deserializer)?,
            hits: 0,
        })
    }
}
impl Clone for Repo {
    fn clone(&self) -> Self {
        Self {
            tenant: self.tenant.clone(),
            hits: self.hits,
        }
    }
}

#[derive(Debug)]
pub struct Query {
    lang: String,
    page: (u32, u32),
}

#[cached(key = "query:<query.lang>:<query.page.0>")]
async fn field_path(query: &Query) -> String {
    format!("{}{}", query.lang, query.page.1)
}

#[cache_core::async_trait]
pub trait Lookup {
    async fn lookup(&self, id: u64) -> Option<u64>;
}

#[derive(Debug)]
pub struct Service {
    offset: u64,
}

#[cache_core::async_trait]
impl Lookup for Service {
    #[cached(key = "service:<self.offset>:<id>")]
    async fn lookup(&self, id: u64) -> Option<u64> {
        if id == 0 {
            return None;
        }
        Some(id + self.offset)
    }
}

/// Each `_refresh` companion calls its function, whatever the shape of its parameters.
async fn refreshes(mut repo: Repo) {
    assert_eq!(free_refresh(1).await.id, 1);
    assert_eq!(patterns(1, (2, 3), 0).await, 6);
    assert_eq!(patterns_refresh(1, (2, 4), 0).await, 7);
    assert_eq!(
        patterns(1, (2, 3), 0).await,
        7,
        "refreshed under the same key"
    );
    assert_eq!(mut_param_refresh(1).await, 2);
    assert_eq!(generic_refresh(7_u8).await, 7);
    assert_eq!(impl_trait_arg_refresh(1, "l").await, "l:1");
    assert_eq!(references_refresh("ab", &[]).await, "AB");
    assert_eq!(cfg_param_refresh(3).await, 3);
    assert_eq!(with_attributes_refresh(2).await, 4);
    assert_eq!(repo.find_mut_refresh(3).await, 5, "the body ran again");
    assert_eq!(repo.generic_method_refresh(5_u8).await, "acme5");
    assert_eq!(Repo::associated_refresh(9).await.tenant, "9");
    assert_eq!(Arc::new(repo.clone()).find_arc_refresh(1).await, "acme:1");
    assert_eq!(repo.clone().into_tenant_refresh().await, "acme");
    assert_eq!(repo.into_counted_refresh().await, 3);
}

#[tokio::test]
async fn every_shape_runs() {
    with_backend(MemoryBackend::new(), async {
        assert_eq!(free(1).await.id, 1);
        assert_eq!(free_cache_key(1), "free:1");
        assert_eq!(with_question_mark(1).await, Ok(42));
        assert_eq!(with_question_mark(0).await, Err("zero".to_owned()));
        assert_eq!(option_early_return(101).await, None);
        assert_eq!(option_early_return(2).await, Some(4));
        assert_eq!(generic(7_u8).await, 7);
        assert_eq!(generic("x".to_owned()).await, "x");
        assert_eq!(impl_trait_arg(1, "l").await, "l:1");
        assert_eq!(impl_trait_arg_cache_key(1, 5), "impl:1");
        assert_eq!(references("ab", &[]).await, "AB");
        assert_eq!(cow(Cow::Borrowed("abc")).await, 3);
        assert_eq!(pattern_param(1, (2, 3)).await, 6);
        assert_eq!(no_params().await, vec!["a".to_owned()]);
        assert_eq!(no_params_cache_key(), "cached_shapes::no_params");
        assert_eq!(mut_param(1).await, 2);
        assert_eq!(with_attributes(2).await, 4);
        assert_eq!(with_outer_attributes(2).await, 6);
        assert_eq!(cfg_param(3).await, 3);
        assert_eq!(unless_closure(0).await, Vec::<u64>::new());
        assert_eq!(unless_path(3).await, Ok(-7));
        assert_eq!(cache_err(3).await, Err("no 3".to_owned()));
        assert_eq!(cache_none(0).await, None);
        assert_eq!(const_options(4).await, 4);
        assert_eq!(
            field_path(&Query {
                lang: "en".to_owned(),
                page: (1, 2)
            })
            .await,
            "en2"
        );
        assert_eq!(
            field_path_cache_key(&Query {
                lang: "e:n".to_owned(),
                page: (1, 2)
            }),
            "query:e%3An:1"
        );

        let mut repo = Repo {
            tenant: "acme".to_owned(),
            hits: 0,
        };
        assert_eq!(
            repo.find(3).await.map(|item| item.name),
            Some("acme".to_owned())
        );
        assert_eq!(repo.find_cache_key(3), "repo:acme:3");
        assert_eq!(repo.find_mut(3).await, 4);
        assert_eq!(repo.find_mut(3).await, 4, "the second call is a hit");
        assert_eq!(repo.find_mut_cache_key(3), "repo_mut:acme:3");
        assert_eq!(repo.generic_method(5_u8).await, "acme5");
        assert_eq!(Repo::associated(9).await.tenant, "9");
        let shared = Arc::new(repo.clone());
        assert_eq!(shared.clone().find_arc(1).await, "acme:1");
        assert_eq!(shared.find_arc_cache_key(1), "repo_arc:acme:1");
        assert_eq!(repo.clone().into_tenant().await, "acme");
        assert_eq!(repo.into_tenant_cache_key(), "repo_owned:acme");
        assert_eq!(repo.clone().into_counted().await, 2);
        refreshes(repo).await;

        let service = Service { offset: 10 };
        assert_eq!(service.lookup(1).await, Some(11));
        assert_eq!(service.lookup(0).await, None);
    })
    .await;
}
