//! CORS for the API, opt-in (`DUET_CORS_ORIGINS`), as django-cors-headers gives Django.
//!
//! Only the API prefixes answer other origins: the app's [`App::api`](crate::App::api)
//! prefixes and `/accounts` (log in, tokens), taken from the app's prefix table. Never
//! `/_event`, the admin, webhooks or the SPA. A request there from a listed origin goes
//! through `actix-cors`: a preflight is answered before authentication and CSRF (with
//! the allowed methods and headers), an actual request gets `Access-Control-Allow-Origin`
//! (and `-Credentials` for listed origins). Any other origin gets no CORS header at all —
//! only `Vary: Origin`, so that a cache never serves one origin's answer to another.
//!
//! CORS only lets a browser read responses: a session-authenticated unsafe request from a
//! listed origin still needs the CSRF token, and its `Origin` must be trusted for CSRF
//! (`DUET_TRUSTED_ORIGINS`) as well.

use std::rc::Rc;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use duet_mount::{PrefixTable, Target};
use futures_util::future::{Either, LocalBoxFuture, MapOk, TryFutureExt};

/// Where the API's CORS answers go (`DUET_CORS_ORIGINS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS (the default): browsers on other origins cannot read the API's responses.
    Off,
    /// These origins (`https://app.example.com`), with credentials: their pages may send the
    /// session cookie.
    Listed(Vec<String>),
    /// `*`: any origin, never with credentials — only token-authenticated calls work
    /// cross-origin.
    Any,
}

impl CorsOrigins {
    fn lists(&self, origin: &HeaderValue) -> bool {
        match self {
            CorsOrigins::Off => false,
            CorsOrigins::Any => true,
            CorsOrigins::Listed(origins) => origins.iter().any(|o| o.as_bytes() == origin.as_bytes()),
        }
    }

    /// The `actix-cors` configuration of these origins.
    fn cors(&self) -> Cors {
        let cors = Cors::default()
            .allowed_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allowed_headers([
                header::AUTHORIZATION.as_str(),
                header::CONTENT_TYPE.as_str(),
                header::ACCEPT.as_str(),
                duet_auth::csrf::CSRF_HEADER,
                crate::telemetry::REQUEST_ID_HEADER,
            ])
            .expose_headers([
                header::RETRY_AFTER,
                HeaderName::from_static(crate::telemetry::REQUEST_ID_HEADER),
            ])
            .max_age(3600);
        match self {
            CorsOrigins::Off => cors,
            CorsOrigins::Any => cors.allow_any_origin().send_wildcard(),
            CorsOrigins::Listed(origins) => origins
                .iter()
                .fold(cors, |cors, origin| cors.allowed_origin(origin))
                .supports_credentials(),
        }
    }
}

/// Middleware: [`CorsOrigins`] on the API prefixes of `prefixes`, nothing elsewhere.
#[derive(Clone)]
pub(crate) struct ApiCors(Option<Arc<(PrefixTable, CorsOrigins)>>);

impl ApiCors {
    /// CORS for `origins` on `api_prefixes` (with `/accounts`, which every table has); off
    /// when `origins` is [`CorsOrigins::Off`].
    pub(crate) fn new<'a>(
        api_prefixes: impl Iterator<Item = &'a str>,
        origins: CorsOrigins,
    ) -> Result<ApiCors, crate::Error> {
        if origins == CorsOrigins::Off {
            return Ok(ApiCors(None));
        }
        let table = PrefixTable::new(api_prefixes).map_err(|e| crate::Error::Check(vec![e.to_string()]))?;
        Ok(ApiCors(Some(Arc::new((table, origins)))))
    }
}

impl<S, B> Transform<S, ServiceRequest> for ApiCors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = ApiCorsMiddleware<S>;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let service = Rc::new(service);
        let config = self.0.clone();
        Box::pin(async move {
            let cors = match &config {
                Some(config) => Some(config.1.cors().new_transform(Rc::clone(&service)).await?),
                None => None,
            };
            Ok(ApiCorsMiddleware { service, cors, config })
        })
    }
}

/// [`ApiCors`]'s service: requests for the API go through `actix-cors` when their origin is
/// listed; the others go straight to the app.
pub(crate) struct ApiCorsMiddleware<S> {
    service: Rc<S>,
    cors: Option<actix_cors::CorsMiddleware<Rc<S>>>,
    config: Option<Arc<(PrefixTable, CorsOrigins)>>,
}

/// A response passed through untouched, its body the left one of [`EitherBody`].
fn passed<B>(response: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    response.map_into_left_body()
}

/// The future of a request outside the API: the app's own, not boxed. (Boxing it here cost
/// every request an allocation the size of the whole app's future, ~7.7 KB, and an idle
/// event socket ~3.5 KB of resident memory: docs/benchmarks.md.)
type PassThrough<F, B> = MapOk<F, fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>>;

impl<S, B> Service<ServiceRequest> for ApiCorsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<PassThrough<S::Future, B>, LocalBoxFuture<'static, Result<Self::Response, Self::Error>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let api = self
            .config
            .as_ref()
            .is_some_and(|config| matches!(config.0.classify(req.path()), Target::Backend(_)));
        if !api {
            return Either::Left(self.service.call(req).map_ok(passed::<B> as fn(_) -> _));
        }
        let listed = req
            .headers()
            .get(header::ORIGIN)
            .is_some_and(|origin| self.config.as_ref().is_some_and(|config| config.1.lists(origin)));
        match (&self.cors, listed) {
            (Some(cors), true) => Either::Right(Box::pin(cors.call(req))),
            _ => {
                let response = self.service.call(req);
                Either::Right(Box::pin(async move {
                    let mut response = response.await?;
                    response
                        .headers_mut()
                        .append(header::VARY, HeaderValue::from_static("Origin"));
                    Ok(response.map_into_left_body())
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::dev::{Service, Transform};
    use actix_web::http::header;
    use actix_web::test::{TestRequest, ok_service};
    use futures_util::future::Either;

    use super::{ApiCors, CorsOrigins};

    /// A request outside the API (the event socket's upgrade, a page) goes through unboxed
    /// and untouched; an API request from a listed origin goes through `actix-cors`.
    #[actix_web::test]
    async fn only_api_requests_take_the_boxed_path() {
        let cors = ApiCors::new(
            ["/api"].into_iter(),
            CorsOrigins::Listed(vec!["https://a.example".into()]),
        )
        .expect("a valid prefix");
        let middleware = cors.new_transform(ok_service()).await.expect("the middleware");

        let outside = TestRequest::with_uri("/_event")
            .insert_header((header::ORIGIN, "https://a.example"))
            .to_srv_request();
        let future = middleware.call(outside);
        assert!(matches!(future, Either::Left(_)), "a request outside the API was boxed");
        let response = future.await.expect("the app's response");
        assert!(response.headers().get(header::VARY).is_none());
        assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

        let api = TestRequest::with_uri("/api/orders/")
            .insert_header((header::ORIGIN, "https://a.example"))
            .to_srv_request();
        let future = middleware.call(api);
        assert!(matches!(future, Either::Right(_)));
        let response = future.await.expect("the app's response");
        assert_eq!(
            response
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .map(|v| v.as_bytes()),
            Some(&b"https://a.example"[..])
        );
    }
}
