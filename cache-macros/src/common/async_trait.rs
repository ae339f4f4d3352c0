//! Methods already rewritten by `#[async_trait]`.
//!
//! `#[async_trait]` sits on the `impl` (or `trait`) block, so it expands before `#[cached]` (or
//! `#[rate_limited]`) on one of its methods, and the macro receives this shape (async-trait 0.1):
//!
//! ```text
//! fn find<'life0, 'async_trait>(&'life0 self, id: u64)
//!     -> Pin<Box<dyn Future<Output = Option<Item>> + Send + 'async_trait>>
//! {
//!     Box::pin(async move { /* the original body, `self` renamed to `__self` */ })
//! }
//! ```
//!
//! We wrap the inner future instead: the key is built at the top of the `async move` block,
//! where the parameters (and `self`) are still in scope, and the block's original statements
//! become the body (that runs on a miss, or once the call is admitted). The same recognition is done by `tracing`'s
//! `#[instrument]` (`AsyncInfo::from_fn`).

use syn::{
    Block, Expr, ExprAsync, ExprCall, GenericArgument, ItemFn, PathArguments, ReturnType, Stmt,
    Type, TypeParamBound,
};

/// The recognised parts of an `#[async_trait]` method.
pub(crate) struct AsyncTraitBody {
    /// `Output` of the boxed future: the method's return type as the user wrote it.
    pub(crate) output: Type,
    /// `Box::pin(async move { ... })`.
    pub(crate) call: ExprCall,
    /// The `async move { ... }` inside it.
    pub(crate) future: ExprAsync,
}

/// Recognises a non-`async` function whose body is exactly `Box::pin(async move { ... })` and
/// whose return type is `Pin<Box<dyn Future<Output = T> + ...>>`.
pub(crate) fn detect(func: &ItemFn) -> Option<AsyncTraitBody> {
    if func.sig.asyncness.is_some() {
        return None;
    }
    let [Stmt::Expr(Expr::Call(call), None)] = func.block.stmts.as_slice() else {
        return None;
    };
    let Expr::Path(callee) = &*call.func else {
        return None;
    };
    if callee.path.segments.last()?.ident != "pin" || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(future)) = call.args.first() else {
        return None;
    };
    future.capture?;
    let output = future_output(&func.sig.output)?;
    Some(AsyncTraitBody {
        output,
        call: call.clone(),
        future: future.clone(),
    })
}

impl AsyncTraitBody {
    /// The original `Box::pin(...)` call with the async block's statements replaced by `stmts`.
    pub(crate) fn with_block(&self, block: Block) -> ExprCall {
        let mut call = self.call.clone();
        let mut future = self.future.clone();
        future.block = block;
        call.args = std::iter::once(Expr::Async(future)).collect();
        call
    }
}

/// `T` from `Pin<Box<dyn Future<Output = T> + Send + 'a>>`.
fn future_output(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let boxed = single_type_argument(ty, "Pin")?;
    let Type::TraitObject(object) = single_type_argument(boxed, "Box")? else {
        return None;
    };
    object.bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let future = bound.path.segments.last()?;
        if future.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(arguments) = &future.arguments else {
            return None;
        };
        arguments.args.iter().find_map(|argument| match argument {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

fn single_type_argument<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    match arguments.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}
