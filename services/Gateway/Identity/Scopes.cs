using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Platform.Gateway.Identity;

/// <summary>The gateway's scopes (architecture: gateway identity). A route names one as its authorization policy.</summary>
public static class Scopes
{
    public const string MarketRead = "market:read";
    public const string MarketWrite = "market:write";
    public const string FeaturesRead = "features:read";
    public const string ModelsRead = "models:read";
    public const string ModelsWrite = "models:write";
    public const string PredictionsWrite = "predictions:write";
    public const string BacktestsWrite = "backtests:write";
    /// <summary>Satisfies every scope.</summary>
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All =
        [MarketRead, MarketWrite, FeaturesRead, ModelsRead, ModelsWrite, PredictionsWrite, BacktestsWrite, Admin];

    /// <summary>The claim type that carries one scope per claim on the gateway's principals.</summary>
    public const string ClaimType = "scope";

    public static bool IsKnown(string scope) => All.Contains(scope, StringComparer.Ordinal);

    public static IEnumerable<string> Of(ClaimsPrincipal user) => user.FindAll(ClaimType).Select(c => c.Value).Distinct(StringComparer.Ordinal);

    public static bool Has(ClaimsPrincipal user, string scope) =>
        user.HasClaim(c => c.Type == ClaimType && (c.Value == scope || c.Value == Admin));

    /// <summary>One policy per scope, named after it, so a route's <c>AuthorizationPolicy</c> is the scope it needs.</summary>
    public static void AddScopePolicies(AuthorizationOptions options)
    {
        foreach (var scope in All)
            options.AddPolicy(scope, p => p.RequireAuthenticatedUser().AddRequirements(new ScopeRequirement(scope)));
    }
}

public sealed record ScopeRequirement(string Scope) : IAuthorizationRequirement;

/// <summary>Met when the caller holds the scope or <c>admin</c>.</summary>
public sealed class ScopeAuthorizationHandler : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (Scopes.Has(context.User, requirement.Scope)) context.Succeed(requirement);
        return Task.CompletedTask;
    }
}
