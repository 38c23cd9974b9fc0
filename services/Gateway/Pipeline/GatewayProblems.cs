using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Mvc;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Pipeline;

/// <summary>Writes the gateway's own refusals as RFC 7807 problem details.</summary>
public static class GatewayProblems
{
    public static Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        var problem = new ProblemDetails
        {
            Status = status, Title = title, Detail = detail, Type = $"https://httpstatuses.io/{status}",
        };
        if (CorrelationId.Of(context) is { } correlation) problem.Extensions["correlationId"] = correlation;
        var writer = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        return writer.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).AsTask();
    }
}

/// <summary>401 and 403 as problem details (the default handler answers with an empty body), for the gateway's own endpoints.</summary>
public sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Challenged) return AccessProblems.UnauthorizedAsync(context);
        if (result.Forbidden)
            return AccessProblems.ForbiddenAsync(context, policy.Requirements.OfType<ScopeRequirement>().Select(r => r.Scope).ToList(), Scopes.Of(context.User));
        return _default.HandleAsync(next, context, policy, result);
    }
}

/// <summary>The gateway's 401 and 403, the same whether the framework's authorization or <see cref="ProxyAccess"/> refused.</summary>
public static class AccessProblems
{
    /// <summary>401 with <c>WWW-Authenticate</c>, saying what was wrong with the credential presented; counted by its kind.</summary>
    public static Task UnauthorizedAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        context.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{GatewaySchemes.ApiKeyHeader}\", Bearer";
        var detail = headers.ContainsKey(GatewaySchemes.ApiKeyHeader) ? "The API key is not valid or has been revoked."
            : headers.Authorization.Count > 0 ? "The bearer token is not valid (signature, issuer, audience or lifetime)."
            : $"Send an API key in {GatewaySchemes.ApiKeyHeader} or a bearer token.";
        GatewayMetrics.AuthenticationFailed(headers.ContainsKey(GatewaySchemes.ApiKeyHeader) ? "api-key"
            : headers.Authorization.Count > 0 ? "bearer" : "none");
        return GatewayProblems.WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    /// <summary>403 naming the scopes the route needs and the ones the caller has.</summary>
    public static Task ForbiddenAsync(HttpContext context, IReadOnlyList<string> needed, IEnumerable<string> held)
    {
        var detail = needed.Count > 0
            ? $"This route needs the scope '{string.Join("', '", needed)}' (or '{Scopes.Admin}'); the caller has: {string.Join(", ", held.DefaultIfEmpty("none"))}."
            : "The caller may not use this route.";
        return GatewayProblems.WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", detail);
    }
}
