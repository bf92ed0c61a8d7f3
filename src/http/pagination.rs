//! The one pagination helper of the Hub API: `page` (from 1) and `page_size` (default 10,
//! at most 100) in, `{count, next, previous, results}` with absolute URLs out; a page past
//! the last is 404, except page 1 of an empty list.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::Uri;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, Hub};
use super::extract::public_base;
use crate::app::App;
use crate::domain::Error;

pub const DEFAULT_PAGE_SIZE: u64 = 10;
pub const MAX_PAGE_SIZE: u64 = 100;

/// The requested page, validated, plus what is needed to build the links.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub page: u64,
    pub page_size: u64,
    /// `public_url` + path, without query.
    base: String,
    /// The other query parameters, kept in the links.
    other: Vec<(String, String)>,
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// A page of results whose count is called `total` (organization access tokens).
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalPage<T> {
    pub total: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

fn parse_positive(name: &str, value: &str) -> Result<u64, Error> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| Error::invalid_field(name, "must be a positive integer"))
}

impl PageRequest {
    /// Parses `page`/`page_size` from `uri`'s query.
    pub fn parse(uri: &Uri, public_url: &str) -> Result<PageRequest, Error> {
        let mut page = 1;
        let mut page_size = DEFAULT_PAGE_SIZE;
        let mut other = Vec::new();
        for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "page" => page = parse_positive("page", &value)?,
                "page_size" => page_size = parse_positive("page_size", &value)?,
                _ => other.push((key.into_owned(), value.into_owned())),
            }
        }
        if page_size > MAX_PAGE_SIZE {
            return Err(Error::invalid_field(
                "page_size",
                format!("must be at most {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(PageRequest {
            page,
            page_size,
            base: format!("{public_url}{}", uri.path()),
            other,
        })
    }

    pub fn offset(&self) -> i64 {
        i64::try_from((self.page - 1).saturating_mul(self.page_size)).unwrap_or(i64::MAX)
    }

    pub fn limit(&self) -> i64 {
        self.page_size as i64
    }

    fn link(&self, page: u64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.other {
            query.append_pair(k, v);
        }
        query.append_pair("page", &page.to_string());
        query.append_pair("page_size", &self.page_size.to_string());
        format!("{}?{}", self.base, query.finish())
    }

    /// Wraps `results` (this page's rows, `total` across all pages) in the envelope, or
    /// 404 when the page is past the last one.
    pub fn respond<T>(&self, total: u64, results: Vec<T>) -> Result<Page<T>, Error> {
        let start = (self.page - 1).saturating_mul(self.page_size);
        if self.page > 1 && start >= total {
            return Err(Error::not_found("not found"));
        }
        let has_next = start.saturating_add(self.page_size) < total;
        Ok(Page {
            count: total,
            next: has_next.then(|| self.link(self.page + 1)),
            previous: (self.page > 1).then(|| self.link(self.page - 1)),
            results,
        })
    }

    /// [`PageRequest::respond`], with the count named `total`.
    pub fn respond_total<T>(&self, total: u64, results: Vec<T>) -> Result<TotalPage<T>, Error> {
        let page = self.respond(total, results)?;
        Ok(TotalPage {
            total: page.count,
            next: page.next,
            previous: page.previous,
            results: page.results,
        })
    }
}

impl FromRequestParts<App> for PageRequest {
    type Rejection = ApiError<Hub>;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // The original URI: links must point at what the client called, before any
        // normalisation.
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let base = public_base(parts, &app.settings);
        Ok(PageRequest::parse(&uri, &base)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> Result<PageRequest, Error> {
        let uri: Uri = format!("/v2/things?{q}").parse().unwrap();
        PageRequest::parse(&uri, "https://hub.example")
    }

    #[test]
    fn defaults_and_limits() {
        let r = req("").unwrap();
        assert_eq!((r.page, r.page_size, r.offset(), r.limit()), (1, 10, 0, 10));
        for bad in [
            "page=0",
            "page=-1",
            "page=x",
            "page_size=0",
            "page_size=101",
            "page=1.5",
        ] {
            assert!(req(bad).is_err(), "{bad}");
        }
        assert_eq!(req("page=3&page_size=100").unwrap().offset(), 200);
    }

    #[test]
    fn envelope_links_and_last_page() {
        let r = req("page=2&page_size=2&name=a%20b").unwrap();
        let page = r.respond(5, vec![3, 4]).unwrap();
        assert_eq!(page.count, 5);
        assert_eq!(
            page.next.as_deref(),
            Some("https://hub.example/v2/things?name=a+b&page=3&page_size=2")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("https://hub.example/v2/things?name=a+b&page=1&page_size=2")
        );
        assert!(req("page=4&page_size=2")
            .unwrap()
            .respond(5, Vec::<u8>::new())
            .is_err());
        let empty = req("").unwrap().respond(0, Vec::<u8>::new()).unwrap();
        assert!(empty.next.is_none() && empty.previous.is_none());
        assert!(req("page=2").unwrap().respond(0, Vec::<u8>::new()).is_err());
    }
}
