//! The visitor's pages' form POSTs go through the layers an operation does (see
//! [`crate::pages::Gate`]): the booking form as a public operation with an `Idempotency-Key`,
//! rate limited like `reserveBookingSlot`; the manage page's as the guest's operations are.
//! A service failure on a page gets the status and Retry-After the API would answer.

use crate::api::{ApiError, EnvelopeKind, OperationMeta};
use crate::edge::guard::Guard;
use crate::edge::idempotency::{Idempotency, KEY_HEADER};
use crate::error::ServiceError;
use crate::pages::{Form, Gate};
use futures::future::BoxFuture;
use poem::endpoint::DynEndpoint;
use poem::http::{HeaderValue, StatusCode};
use poem::{Request, Response};

/// The booking form's POST, as the guard and the idempotency layer see it.
static BOOK_FORM: OperationMeta = OperationMeta {
    operation_id: "bookingPageReserve",
    method: "POST",
    path: "/booking/{token}",
    route: "/:token",
    tag: "Pages",
    secured: false,
    headers: &["idempotency-key"],
    errors: &[
        (400, EnvelopeKind::Single),
        (408, EnvelopeKind::Single),
        (409, EnvelopeKind::Single),
        (413, EnvelopeKind::Single),
        (429, EnvelopeKind::Single),
        (500, EnvelopeKind::Single),
        (503, EnvelopeKind::Single),
    ],
};

/// The manage page's POSTs, as the guard sees them.
static MANAGE_FORM: OperationMeta = OperationMeta {
    operation_id: "bookingPageManage",
    method: "POST",
    path: "/booking/manage/{manageToken}",
    route: "/manage/:token",
    tag: "Pages",
    secured: false,
    headers: &[],
    errors: &[
        (400, EnvelopeKind::Single),
        (408, EnvelopeKind::Single),
        (413, EnvelopeKind::Single),
        (429, EnvelopeKind::Single),
        (500, EnvelopeKind::Single),
    ],
};

fn meta(form: Form) -> &'static OperationMeta {
    match form {
        Form::Book => &BOOK_FORM,
        Form::Manage => &MANAGE_FORM,
    }
}

/// The edge's side of [`Gate`]: the same guard and idempotency layer as the operations'.
pub struct FormGate {
    pub guard: Guard,
    pub idempotency: Idempotency,
}

impl Gate for FormGate {
    fn admit<'a>(&'a self, form: Form, req: &'a mut Request) -> BoxFuture<'a, Option<Response>> {
        Box::pin(self.guard.admit(meta(form), req))
    }

    fn once<'a>(
        &'a self,
        form: Form,
        key: HeaderValue,
        mut req: Request,
        next: &'a dyn DynEndpoint<Output = Response>,
    ) -> BoxFuture<'a, poem::Result<Response>> {
        req.headers_mut().insert(KEY_HEADER, key);
        Box::pin(self.idempotency.call(meta(form), req, next))
    }

    fn status_of(&self, err: &ServiceError) -> (StatusCode, Option<u64>) {
        let api = ApiError::from(err);
        (StatusCode::from_u16(api.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), api.retry_after)
    }
}
