//! Code generation for a validated [`Cached`] function: the function itself, with only its body
//! replaced, and its companions.
//!
//! ```text
//! #[cached(key = "user:<id>", ttl = 300)]
//! async fn get_user(id: u64) -> Result<User, DbError> { body }
//! ```
//! becomes, in essence,
//! ```text
//! async fn get_user(id: u64) -> Result<User, DbError> {
//!     let __cache_site: &'static Site = {        // out of the parameters' scope
//!         static __CACHE_SITE: Site = Site::new(SiteConfig {
//!             name: concat!(module_path!(), "::", "get_user"),
//!             key: Some("user:<id>"), options: "key = \"user:<id>\", ttl = 300",
//!             backend: None,
//!             ttl: Some(300s),
//!             timeout: None,
//!             lock: true, lock_lease: None, lock_wait: None, jitter: None, grace: None,
//!         });
//!         &__CACHE_SITE
//!     };
//!     let mut __cache_key = KeyBuf::new();          // built by reference, before the body moves anything
//!     __cache_key.push_literal("user:");
//!     __cache_key.push_part(&id);                   // spanned at `u64`
//!     cached(__cache_site, __cache_key.as_str(), Shape::new(|r| r.as_ref().ok().cloned(), Ok),
//!            move || async move { body }).await
//! }
//! ```
//! plus `get_user_cache_key`, `get_user_invalidate` and
//! ```text
//! async fn get_user_refresh(id: u64) -> Result<User, DbError> {
//!     refresh(get_user(id)).await                   // the body stays in `get_user` only
//! }
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Attribute, Block, FnArg, GenericParam, Ident, Pat, PatIdent, PatType};

use super::validate::{Cached, ShapeKind};
use crate::common::duration::DurationValue;
use crate::common::item_fn::{
    async_body, has_impl_trait_param, has_receiver, names_self_type, owns_everything, static_local,
    with_body,
};
use crate::common::key;

/// Generated locals: `Span::mixed_site()` keeps them apart from the user's names.
struct Names {
    site: Ident,
    key: Ident,
    unless: Ident,
    result: Ident,
    value: Ident,
    fake_return: Ident,
    shape: Ident,
    run: Ident,
    detach: Ident,
}

impl Names {
    fn new() -> Self {
        let name = |text: &str| Ident::new(text, Span::mixed_site());
        Self {
            site: name("__cache_site"),
            key: name("__cache_key"),
            unless: name("__cache_unless"),
            result: name("__cache_result"),
            value: name("__cache_value"),
            fake_return: name("__cache_fake_return"),
            shape: name("__cache_shape"),
            run: name("__cache_run"),
            detach: name("__cache_detach"),
        }
    }
}

pub(crate) fn expand(cached: &Cached, options: &str) -> TokenStream {
    let names = Names::new();
    let function = function(cached, &names, options);
    let companions = if cached.companions {
        companions(cached, &names, options)
    } else {
        TokenStream::new()
    };
    quote!(#function #companions)
}

/// The user's function: attributes, visibility and signature as written, new body.
fn function(cached: &Cached, names: &Names, options: &str) -> TokenStream {
    let site = site(cached, names, options);
    let check = cacheable_check(cached);
    let key = key(cached, names);
    let unless = unless(cached, names);
    let shape = shape(cached, names);
    // `{ site; check; key; cached(.., move || async move { original }).await }`
    with_body(
        &cached.target.func,
        cached.target.async_trait.as_ref(),
        |original| {
            let run = run_body(cached, names, original);
            let call = call_runtime(cached, names, &shape, &run);
            quote! {
                #site
                #check
                #key
                #unless
                #call
            }
        },
    )
}

/// `let __cache_site = &Site::new(SiteConfig { name, backend, ttl, timeout, lock.. });`, a `static`
/// (see [`static_local`]), the options named so that the expansion reads as what it configures.
fn site(cached: &Cached, names: &Names, options: &str) -> TokenStream {
    let krate = &cached.target.krate;
    let private = quote!(#krate::__private);
    let name = cached.target.func.sig.ident.to_string();
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(#private::Some(#value)),
        None => quote!(#private::None),
    };
    let backend = option(
        cached
            .target
            .backend
            .as_ref()
            .map(|backend| quote_spanned!(backend.span()=> #backend)),
    );
    let ttl = option(cached.ttl.as_ref().map(|ttl| ttl.to_tokens(krate)));
    let timeout = option(
        cached
            .target
            .timeout
            .as_ref()
            .map(|timeout| timeout.to_tokens(krate)),
    );
    let template = key::template(&cached.target.key);
    let lock = cached.lock;
    let lock_lease = option(
        cached
            .lock_lease
            .as_ref()
            .map(|lease| lease.to_tokens(krate)),
    );
    let lock_wait = option(cached.lock_wait.as_ref().map(|wait| wait.to_tokens(krate)));
    let jitter = option(cached.jitter.map(|jitter| quote!(#jitter)));
    let grace = option(cached.grace.as_ref().map(|grace| {
        let duration = |value: &Option<DurationValue>| {
            option(value.as_ref().map(|value| value.to_tokens(krate)))
        };
        let stale = duration(&grace.stale);
        let refresh_ahead = option(grace.refresh_ahead.map(|fraction| quote!(#fraction)));
        let fail_safe = duration(&grace.fail_safe);
        let fail_safe_throttle = duration(&grace.fail_safe_throttle);
        let soft_timeout = duration(&grace.soft_timeout);
        quote!(#private::Grace {
            stale: #stale,
            refresh_ahead: #refresh_ahead,
            fail_safe: #fail_safe,
            fail_safe_throttle: #fail_safe_throttle,
            soft_timeout: #soft_timeout,
        })
    }));
    let init = quote! {
        #private::Site::new(#private::SiteConfig {
            name: ::core::concat!(::core::module_path!(), "::", #name),
            key: #private::Some(#template),
            options: #options,
            backend: #backend,
            ttl: #ttl,
            timeout: #timeout,
            lock: #lock,
            lock_lease: #lock_lease,
            lock_wait: #lock_wait,
            jitter: #jitter,
            grace: #grace,
        })
    };
    static_local(&names.site, "__CACHE_SITE", &quote!(#private::Site), &init)
}

/// `__private::cached(site, key, shape, run).await`; for a function serving past its TTL,
/// `cached_graceful(.., detach)`, with `detach` saying whether its refreshes can be spawned;
/// for a tagged one, `cached_tagged(site, key, &[tag keys], shape, run)`, or
/// `cached_graceful_tagged(site, key, &[tag keys], shape, run, detach)` if it also serves past
/// its TTL.
fn call_runtime(
    cached: &Cached,
    names: &Names,
    shape: &TokenStream,
    run: &TokenStream,
) -> TokenStream {
    let krate = &cached.target.krate;
    let Names { site, key, .. } = names;
    // A method's stats are counted under its type too: `A::get` and `B::get` in one module are
    // two functions.
    let site = if has_receiver(&cached.target.func) {
        quote!(#krate::__private::Site::of::<Self>(#site))
    } else {
        quote!(#site)
    };
    let private = quote!(#krate::__private);
    // Built before the body's closure takes the arguments, as the key is.
    let (tags, builds): (Vec<Ident>, Vec<TokenStream>) = cached
        .tags
        .iter()
        .enumerate()
        .map(|(index, pieces)| {
            let tag = Ident::new(&format!("__cache_tag{index}"), Span::mixed_site());
            let pushes = key::pushes(krate, &tag, pieces);
            let build = quote! {
                let mut #tag = #private::KeyBuf::new();
                #tag.push_literal(#private::TAG_KEY_PREFIX);
                #pushes
            };
            (tag, build)
        })
        .unzip();
    let tag_keys = quote!(&[#(#tags.as_str()),*]);
    let Some(_) = &cached.grace else {
        if tags.is_empty() {
            return quote!(#private::cached(#site, #key.as_str(), #shape, #run).await);
        }
        return quote!({
            #(#builds)*
            #private::cached_tagged(#site, #key.as_str(), #tag_keys, #shape, #run).await
        });
    };
    let ret = &cached.shape.ret;
    let Names {
        shape: shape_name,
        run: run_name,
        detach,
        ..
    } = names;
    // Refreshes are spawned where the body can outlive the call: owned arguments (decided from
    // the signature, as lifetimes are invisible to trait selection) and no `unless` (its
    // predicate may borrow them).
    let spawned = if tags.is_empty() {
        quote!(spawned)
    } else {
        quote!(spawned_tagged)
    };
    let detach = if owns_everything(&cached.target.func.sig) && cached.unless.is_none() {
        quote!(let #detach = #private::#spawned::<#ret, _, _, _>(&#run_name, &#shape_name);)
    } else {
        quote!(let #detach = #private::Detach::inline();)
    };
    let detach_name = &names.detach;
    let call = if tags.is_empty() {
        quote!(#private::cached_graceful(#site, #key.as_str(), #shape_name, #run_name, #detach_name))
    } else {
        quote!(#private::cached_graceful_tagged(
            #site, #key.as_str(), #tag_keys, #shape_name, #run_name, #detach_name
        ))
    };
    quote!({
        #(#builds)*
        let #shape_name = #shape;
        let #run_name = #run;
        #detach
        #call.await
    })
}

/// A call that fails to compile, at the cached type, unless it is `Cacheable`: the first
/// errors then point at the user's type (the runtime's own bound repeats them at the macro).
fn cacheable_check(cached: &Cached) -> TokenStream {
    let krate = &cached.target.krate;
    let ty = &cached.shape.cached;
    quote_spanned!(ty.span()=> #krate::__private::assert_cacheable::<#ty>();)
}

/// `let mut __cache_key = KeyBuf::new();` and one push per piece.
fn key(cached: &Cached, names: &Names) -> TokenStream {
    key::build(&cached.target.krate, &names.key, &cached.target.key)
}

/// `let __cache_unless = unless::<R, _>(predicate);`, typed so that a closure's parameter is
/// inferred as `&R`.
fn unless(cached: &Cached, names: &Names) -> TokenStream {
    let Some(predicate) = &cached.unless else {
        return TokenStream::new();
    };
    let krate = &cached.target.krate;
    let ret = &cached.shape.ret;
    let unless = &names.unless;
    // Spanned at the predicate, so that a wrong argument type is reported there.
    quote_spanned! {predicate.span()=>
        let #unless = #krate::__private::unless::<#ret, _>(#predicate);
    }
}

/// `Shape::new(store, load)` for the return shape.
fn shape(cached: &Cached, names: &Names) -> TokenStream {
    let krate = &cached.target.krate;
    let private = quote!(#krate::__private);
    let ret = &cached.shape.ret;
    let Names {
        result,
        value,
        unless,
        ..
    } = names;
    let store = match cached.shape.kind {
        ShapeKind::Whole => quote!(#private::Some(#private::Clone::clone(#result))),
        ShapeKind::Ok => {
            quote!(#private::Result::ok(#private::Result::as_ref(#result)).cloned())
        }
        ShapeKind::Some => quote!(#private::Clone::clone(#result)),
    };
    let store = if cached.unless.is_some() {
        quote!(if #unless(#result) { #private::None } else { #store })
    } else {
        store
    };
    let load = match cached.shape.kind {
        ShapeKind::Whole => quote!(|#value| #value),
        ShapeKind::Ok => quote!(#private::Ok),
        ShapeKind::Some => quote!(#private::Some),
    };
    // Autoref specialisation: `ShareByClone` where the return type is `Clone + Send`, so
    // callers waiting on a failed run get a copy of its `Err` instead of running the body.
    quote!({
        #[allow(unused_imports)]
        use #private::{ShareByClone as _, ShareNot as _};
        #private::Sharing::new(
            #private::Shape::new(|#result: &#ret| #store, #load),
            (&&#private::ShareProbe::<#ret>::new()).share(),
        )
    })
}

/// `move || async move { <fake return edge> body }`, called on a miss; with `hard_timeout`,
/// that future bounded by it.
fn run_body(cached: &Cached, names: &Names, block: &Block) -> TokenStream {
    let body = async_body(&cached.shape.ret, &names.fake_return, block);
    let Some(limit) = &cached.hard_timeout else {
        return quote!(move || #body);
    };
    let krate = &cached.target.krate;
    let limit = limit.to_tokens(krate);
    let name = cached.target.func.sig.ident.to_string();
    let ret = &cached.shape.ret;
    // Spanned at the return type, where a missing `From<cache_core::Error>` is reported.
    let bounded = quote_spanned!(ret.span()=> #krate::__private::bounded::<#ret>);
    quote! {
        move || #bounded(
            #limit,
            ::core::concat!(::core::module_path!(), "::", #name),
            #body,
        )
    }
}

/// `{fn}_cache_key`, `{fn}_invalidate`, `{fn}_invalidate_all` and `{fn}_refresh`.
fn companions(cached: &Cached, names: &Names, options: &str) -> TokenStream {
    let func = &cached.target.func;
    let krate = &cached.target.krate;
    let vis = &func.vis;
    let ident = &func.sig.ident;
    let generics = &func.sig.generics;
    let where_clause = &func.sig.generics.where_clause;
    let cfgs: Vec<&Attribute> = func
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .collect();
    let name = ident.to_string();
    let cache_key = format_ident!("{}_cache_key", ident, span = ident.span());
    let invalidate = format_ident!("{}_invalidate", ident, span = ident.span());
    let invalidate_all = format_ident!("{}_invalidate_all", ident, span = ident.span());
    let refresh = format_ident!("{}_refresh", ident, span = ident.span());

    let receiver = has_receiver(func).then(|| quote!(&self,));
    let (params, keep_alive) = companion_params(func);
    let site = site(cached, names, options);
    let key = key(cached, names);
    let Names {
        site: site_name,
        key: key_name,
        ..
    } = names;

    let cache_key_doc = format!(
        " The cache key under which `{name}` stores its result for these arguments.\n\n \
         Generated by `#[cached]` from the same key template as `{name}`, so the two always agree."
    );
    let invalidate_doc = format!(
        " Removes `{name}`'s cached result for these arguments, so that the next call runs the \
         body.\n\n Returns whether there was a cached result; fails only if the backend does. \
         Generated by `#[cached]`."
    );
    let invalidate_all_doc = format!(
        " Removes every cached result of `{name}`: the keys matching its key template, each \
         placeholder a `*` (with a template that extends it, another function's keys too).\n\n \
         Returns how many were removed; fails only if the backend does. Later calls run the \
         body; a load in flight may still store its value. Generated by `#[cached]`."
    );
    let pattern = key::pattern(&cached.target.key);
    let refresh_doc = format!(
        " Runs `{name}`'s body and overwrites its cached result for these arguments (when the \
         result is cacheable), whatever was cached before; returns the result.\n\n \
         Generated by `#[cached]`."
    );

    let refresh = refresh_companion(cached, refresh);
    quote! {
        #[doc = #cache_key_doc]
        #(#cfgs)*
        #[allow(dead_code)]
        #vis fn #cache_key #generics (#receiver #(#params),*) -> #krate::__private::String #where_clause {
            #(#keep_alive)*
            #key
            #krate::__private::KeyBuf::into_string(#key_name)
        }

        #[doc = #invalidate_doc]
        #(#cfgs)*
        #[allow(dead_code)]
        #vis async fn #invalidate #generics (#receiver #(#params),*) -> #krate::__private::CacheResult<bool> #where_clause {
            #site
            #(#keep_alive)*
            #key
            #krate::__private::invalidate(#site_name, #key_name.as_str()).await
        }

        #[doc = #invalidate_all_doc]
        #(#cfgs)*
        #[allow(dead_code)]
        #vis async fn #invalidate_all() -> #krate::__private::CacheResult<u64> {
            #site
            #krate::__private::invalidate_all(#site_name, #pattern).await
        }

        #[doc = #refresh_doc]
        #(#cfgs)*
        #[allow(dead_code)]
        #refresh
    }
}

/// `{fn}_refresh`: the function's signature under the companion's name, calling the function
/// itself in refresh mode, so that the body is written (and type-checked) once. Parameters
/// that are patterns get a name to pass the argument on with; `mut` bindings lose their `mut`,
/// which the call does not need.
fn refresh_companion(cached: &Cached, name: Ident) -> TokenStream {
    let func = &cached.target.func;
    let krate = &cached.target.krate;
    let ident = &func.sig.ident;
    let mut sig = func.sig.clone();
    sig.ident = name;
    let mut args = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                if receiver.reference.is_none() {
                    receiver.mutability = None;
                }
                args.push(quote!(self));
            }
            FnArg::Typed(PatType { attrs, pat, .. }) => {
                let arg = match &mut **pat {
                    Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                        pat.mutability = None;
                        pat.ident.clone()
                    }
                    other => {
                        let arg = format_ident!("__cache_arg{index}", span = Span::mixed_site());
                        *other = Pat::Ident(PatIdent {
                            attrs: Vec::new(),
                            by_ref: None,
                            mutability: None,
                            ident: arg.clone(),
                            subpat: None,
                        });
                        arg
                    }
                };
                // `#[cfg]` on a parameter goes with its argument.
                args.push(quote!(#(#attrs)* #arg));
            }
        }
    }
    // A method, or an associated function naming `Self`, is reached through `Self`; any other
    // function is taken to be a free one (the macro cannot see an `impl` around it).
    let callee = if has_receiver(func) || names_self_type(&func.sig) {
        quote!(Self::#ident)
    } else {
        quote!(#ident)
    };
    // The generics as arguments, so that those the arguments do not determine are still
    // known; not allowed (and not needed) when an argument is `impl Trait`.
    let generics: Vec<&Ident> = func
        .sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(param) => Some(&param.ident),
            GenericParam::Const(param) => Some(&param.ident),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let turbofish = (!generics.is_empty() && !has_impl_trait_param(&func.sig))
        .then(|| quote!(::<#(#generics),*>));
    let vis = &func.vis;
    quote! {
        #vis #sig {
            #krate::__private::refresh(#callee #turbofish (#(#args),*)).await
        }
    }
}

/// The function's parameters as the key companions take them: named ones as `name: Type`
/// (without `mut`), patterns as `_: Type`; plus a `let _ = &name;` for each named one, so that
/// those the key does not use raise no warning.
fn companion_params(func: &syn::ItemFn) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut params = Vec::new();
    let mut keep_alive = Vec::new();
    for input in &func.sig.inputs {
        let FnArg::Typed(PatType { attrs, pat, ty, .. }) = input else {
            continue;
        };
        match &**pat {
            Pat::Ident(pat) if pat.subpat.is_none() => {
                let name = &pat.ident;
                params.push(quote!(#(#attrs)* #name: #ty));
                keep_alive.push(quote!(#(#attrs)* let _ = &#name;));
            }
            _ => params.push(quote!(#(#attrs)* _: #ty)),
        }
    }
    (params, keep_alive)
}
