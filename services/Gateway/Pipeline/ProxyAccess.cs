using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Platform.Gateway.Identity;
using Platform.Gateway.Limits;
using Yarp.ReverseProxy.Model;

namespace Platform.Gateway.Pipeline;

/// <summary>
/// Who may pass, on a proxied route, in one step: the credential (<c>X-Api-Key</c>, or a bearer token when there is no key),
/// the client-limit spending of an unauthenticated request, the route's scope (its <c>AuthorizationPolicy</c>), the caller's
/// tier bucket and <c>X-Principal</c>. The answers are those of the general pipeline the gateway's own endpoints go through
/// (ASP.NET Core's authentication and authorization middleware with the gateway's schemes and scope policies, then the
/// same limits): the same 401, 403 and 429 problem details, headers and metrics. A proxied request, by far the most frequent,
/// then does not pay for the framework's general machinery (a request service scope, a handler instance, the policy
/// evaluator and its contexts) to check one key against one scope. A bearer token is still validated by the framework's
/// JWT scheme.
/// </summary>
public sealed class ProxyAccess(ApiKeyService keys, ClientLimiter clientLimiter, TierRateLimiter tiers, int? managementPort)
{
    /// <summary>
    /// Proxied routes go through <see cref="ProxyAccess"/>, every other endpoint through ASP.NET Core's authentication and
    /// authorization and the gateway's limits, in the order they have always run. Both rejoin the pipeline after them.
    /// </summary>
    public static IApplicationBuilder UseGatewayAccess(IApplicationBuilder app, int? managementPort)
    {
        var access = new ProxyAccess(app.ApplicationServices.GetRequiredService<ApiKeyService>(),
            app.ApplicationServices.GetRequiredService<ClientLimiter>(), app.ApplicationServices.GetRequiredService<TierRateLimiter>(), managementPort);
        // The general steps stay on the application itself (so the framework sees its authentication and authorization
        // middleware in place and adds none of its own); a proxied request skips over them to what follows them. The
        // pipeline is composed from its end, so the step after them is known by the time the fork is built.
        RequestDelegate? afterGeneral = null;
        app.Use(general =>
        {
            var after = afterGeneral ?? throw new InvalidOperationException("The pipeline after the gateway's access steps was not built.");
            return context => context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>() is { } route
                ? access.InvokeAsync(context, route, after)
                : general(context);
        });
        app.UseAuthentication();
        app.UseClientLimitSpending(managementPort);
        app.UseAuthorization();
        app.UseTierRateLimits();
        app.UseForwardPrincipal();
        app.Use(next => afterGeneral = next);
        return app;
    }

    public Task InvokeAsync(HttpContext context, RouteModel route, RequestDelegate next)
    {
        // A cached key answers at once: no state machine for the usual request.
        var authenticating = AuthenticateAsync(context);
        return authenticating.IsCompletedSuccessfully
            ? Admit(context, route, authenticating.Result, next)
            : AdmitAsync(context, route, authenticating, next);
    }

    private async Task AdmitAsync(HttpContext context, RouteModel route, ValueTask<bool> authenticating, RequestDelegate next) =>
        await Admit(context, route, await authenticating, next);

    /// <summary>
    /// True when the request carries a valid credential, then <see cref="HttpContext.User"/> is its principal. As the
    /// <see cref="GatewaySchemes.ApiKey"/> scheme: a key decides when present (exactly one, non-empty), a bearer token only
    /// when there is no key.
    /// </summary>
    private ValueTask<bool> AuthenticateAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (headers.TryGetValue(GatewaySchemes.ApiKeyHeader, out var presented))
        {
            if (presented.Count != 1 || presented[0] is not { Length: > 0 } key) return ValueTask.FromResult(false);
            var verifying = keys.VerifyAsync(key, context.RequestAborted);
            return verifying.IsCompletedSuccessfully ? ValueTask.FromResult(SignIn(context, verifying.Result)) : SignInAsync(context, verifying);
        }
        return headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? BearerAsync(context)
            : ValueTask.FromResult(false);
    }

    private static async ValueTask<bool> SignInAsync(HttpContext context, ValueTask<ApiKeyPrincipal?> verifying) => SignIn(context, await verifying);

    private static bool SignIn(HttpContext context, ApiKeyPrincipal? key)
    {
        if (key is null) return false;
        context.User = new ClaimsPrincipal(new GatewayIdentity(key.Claims, GatewaySchemes.ApiKey, key.Caller));
        return true;
    }

    private static async ValueTask<bool> BearerAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(GatewaySchemes.Bearer);
        if (result.Principal is not null) context.User = result.Principal;
        return result.Succeeded;
    }

    private Task Admit(HttpContext context, RouteModel route, bool authenticated, RequestDelegate next)
    {
        if (!authenticated) ClientLimitMiddleware.SpendUnauthenticated(context, clientLimiter, managementPort);
        var caller = authenticated ? GatewayCaller.Of(context.User) : null;
        var policy = route.Config.AuthorizationPolicy;
        // "anonymous" and "default" as YARP reads them; startup refuses a route without a policy, so none here needs
        // authentication only (failing closed).
        if (!string.Equals(policy, "anonymous", StringComparison.OrdinalIgnoreCase))
        {
            if (!authenticated) return AccessProblems.UnauthorizedAsync(context);
            if (!string.IsNullOrWhiteSpace(policy) && !string.Equals(policy, "default", StringComparison.OrdinalIgnoreCase)
                && !(caller?.Has(policy) ?? Scopes.Has(context.User, policy)))
                return AccessProblems.ForbiddenAsync(context, [policy], Scopes.Of(context.User));
        }
        // Before the bucket, which may still refuse: a refused request is not forwarded, so its headers do not matter.
        PrincipalHeader.Forward(context.Request, caller);
        return RateLimitMiddleware.Limit(context, caller, next, tiers);
    }
}
