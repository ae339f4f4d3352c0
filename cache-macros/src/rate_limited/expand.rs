//! Code generation for a validated [`RateLimited`] function: the function itself, with only
//! its body replaced. No other item is generated.
//!
//! ```text
//! #[rate_limited(key = "search:<user_id>", limit = 10, window = 60)]
//! async fn search(user_id: u64, q: &str) -> Result<Vec<Hit>, ApiError> { body }
//! ```
//! becomes, in essence,
//! ```text
//! async fn search(user_id: u64, q: &str) -> Result<Vec<Hit>, ApiError> {
//!     let __cache_limiter: &'static RateLimiter = { // out of the parameters' scope
//!         static __CACHE_LIMITER: RateLimiter = RateLimiter::new(checked_cost(
//!             RateLimitPolicy::gcra(checked_limit(10, Gcra), checked_window(60s)),
//!             1,                                    // each check spanned at its option
//!         ));
//!         &__CACHE_LIMITER
//!     };
//!     {
//!         let mut __cache_key = KeyBuf::new();      // built by reference
//!         __cache_key.push_literal("search:");
//!         __cache_key.push_part(&user_id);          // spanned at `user_id`
//!         if let Err(__cache_denied) = rate_limit(__cache_limiter, &__cache_key, 1, None).await {
//!             return Err(rate_limited_error(__cache_denied)); // spanned at `ApiError`
//!         }
//!     }
//!     async move { body }.await
//! }
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::args::{Count, Fail};
use super::validate::RateLimited;
use crate::common::crate_path::{self, checked_call};
use crate::common::item_fn::{async_body, static_local, with_body};
use crate::common::key;
use crate::common::listing::listing;
use crate::common::result_return::convert_error;

/// Generated locals: `Span::mixed_site()` keeps them apart from the user's names.
struct Names {
    limiter: Ident,
    key: Ident,
    denied: Ident,
    fake_return: Ident,
}

impl Names {
    fn new() -> Self {
        let name = |text: &str| Ident::new(text, Span::mixed_site());
        Self {
            limiter: name("__cache_limiter"),
            key: name("__cache_key"),
            denied: name("__cache_denied"),
            fake_return: name("__cache_fake_return"),
        }
    }
}

/// The user's function: attributes, visibility and signature as written, new body.
pub(crate) fn expand(model: &RateLimited, options: &str) -> TokenStream {
    let names = Names::new();
    let listing = listing(&model.target, "RateLimited", options);
    let limiter = limiter(model, &names);
    let check = check(model, &names);
    // `{ limiter; check; async move { original }.await }`
    with_body(
        &model.target.func,
        model.target.async_trait.as_ref(),
        |original| {
            let run = async_body(&model.ret, &names.fake_return, original);
            quote! {
                #listing
                #limiter
                #check
                #run.await
            }
        },
    )
}

/// `let __cache_limiter = &RateLimiter::new(..);`, a `static` (see [`static_local`]) evaluated
/// at compile time: the policy is checked there too, so constants the macro cannot read are
/// still rejected by the compiler.
fn limiter(model: &RateLimited, names: &Names) -> TokenStream {
    let krate = &model.target.krate;
    let private = quote!(#krate::__private);
    let policy = policy(model);
    let cost = cost(model);
    // Every token at the `cost` option, where a cost that can never pass is then reported.
    let at_cost = model.cost_span;
    let checked =
        crate_path::respan_tokens(quote!(#private::checked_cost(#policy, #cost)), at_cost);
    let new = match &model.target.backend {
        None => quote!(#private::RateLimiter::new(#checked)),
        Some(backend) => {
            let backend = quote_spanned!(backend.span()=> #backend);
            quote!(#private::RateLimiter::on_backend(#checked, #backend))
        }
    };
    let fail = match model.fail {
        Fail::Open => TokenStream::new(),
        Fail::Closed => quote!(.failure_mode(#private::FailureMode::Closed)),
    };
    let timeout = model.target.timeout.as_ref().map(|timeout| {
        let timeout = timeout.to_tokens(krate);
        quote!(.timeout(#timeout))
    });
    static_local(
        &names.limiter,
        "__CACHE_LIMITER",
        &quote!(#private::RateLimiter),
        &quote!(#new #fail #timeout),
    )
}

/// `RateLimitPolicy::<algorithm>(limit, window)` plus `.burst(b)`, each value passed through
/// its compile-time check.
fn policy(model: &RateLimited) -> TokenStream {
    let krate = &model.target.krate;
    let policy = &model.policy;
    let limit = count_tokens(&policy.limit);
    let algorithm = Ident::new(policy.algorithm.variant(), Span::call_site());
    let checked_limit = checked_call(
        krate,
        "checked_limit",
        quote!(#limit, #krate::__private::Algorithm::#algorithm),
        policy.limit.span(),
    );
    let checked_window = checked_call(
        krate,
        "checked_window",
        policy.window.to_tokens(krate),
        policy.window_span,
    );
    let constructor = Ident::new(policy.algorithm.constructor(), Span::call_site());
    let burst = policy.burst.as_ref().map(|burst| {
        let checked_burst = checked_call(krate, "checked_burst", count_tokens(burst), burst.span());
        quote!(.burst(#checked_burst))
    });
    quote! {
        #krate::__private::RateLimitPolicy::#constructor(
            #checked_limit,
            #checked_window,
        ) #burst
    }
}

/// The cost, a `u32`.
fn cost(model: &RateLimited) -> TokenStream {
    model
        .cost
        .as_ref()
        .map_or_else(|| quote!(1_u32), count_tokens)
}

fn count_tokens(count: &Count) -> TokenStream {
    match count {
        Count::Literal { value, span } => quote_spanned!(*span=> #value),
        Count::Expr(expr) => quote_spanned!(expr.span()=> #expr),
    }
}

/// Builds the key by reference, asks the limiter (or waits), and returns
/// `Err(E::from(RateLimited))` when the call is denied.
fn check(model: &RateLimited, names: &Names) -> TokenStream {
    let krate = &model.target.krate;
    let private = quote!(#krate::__private);
    let Names {
        limiter,
        key,
        denied,
        ..
    } = names;
    let build = key::build(krate, key, &model.target.key);
    let cost = cost(model);
    let wait = match &model.wait {
        Some(wait) => {
            let wait = wait.to_tokens(krate);
            quote!(#private::Some(#wait))
        }
        None => quote!(#private::None),
    };
    let convert = convert_error(
        quote!(#private::rate_limited_error),
        denied,
        model.error_span,
    );
    quote! {
        {
            #build
            if let #private::Err(#denied) =
                #private::rate_limit(#limiter, &#key, #cost, #wait).await
            {
                return #private::Err(#convert);
            }
        }
    }
}
