using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Dashboard;

/// <summary>
/// A signed-in dashboard user: the credential they signed in with (an API key or a bearer token), kept only inside the
/// encrypted, HttpOnly session cookie and sent on to the gateway's public API with every call the dashboard makes for
/// them, so the dashboard can do nothing the credential itself may not.
/// </summary>
public sealed record DashboardSession(string Name, string Kind, string Credential, IReadOnlyList<string> Scopes)
{
    public const string Scheme = "Dashboard";
    public const string CookieName = "platform.dashboard";
    private const string CredentialClaim = "credential";

    /// <summary>Held scope (or <c>admin</c>): decides what the pages show and offer.</summary>
    public bool Has(string scope) => Scopes.Contains(scope, StringComparer.Ordinal) || Scopes.Contains(Identity.Scopes.Admin, StringComparer.Ordinal);

    public ClaimsPrincipal ToPrincipal()
    {
        var claims = new List<Claim> { new(GatewayClaims.Name, Name), new(GatewayClaims.Kind, Kind), new(CredentialClaim, Credential) };
        claims.AddRange(Scopes.Select(s => new Claim(Identity.Scopes.ClaimType, s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme, GatewayClaims.Name, null));
    }

    public static DashboardSession? From(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true && user.FindFirst(CredentialClaim)?.Value is { Length: > 0 } credential
            ? new DashboardSession(user.FindFirst(GatewayClaims.Name)?.Value ?? "", GatewayClaims.KindOf(user), credential,
                Identity.Scopes.Of(user).ToList())
            : null;

    /// <summary>The session of this request from its cookie, or null.</summary>
    public static async Task<DashboardSession?> ReadAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(Scheme);
        return result.Succeeded ? From(result.Principal) : null;
    }
}

/// <summary>Checks a credential typed into the sign-in form with the gateway's own verification (API keys, JWT settings).</summary>
public sealed class DashboardSignIn(ApiKeyService keys, JwtSigningKeyProvider jwtKeys, IOptionsMonitor<JwtBearerOptions> jwt)
{
    /// <summary>The session for a valid API key or bearer token; null for anything else (every failure looks the same).</summary>
    public async Task<DashboardSession?> VerifyAsync(string credential, CancellationToken ct)
    {
        credential = credential.Trim();
        if (credential.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) credential = credential[7..].Trim();
        if (credential.Length is 0 or > 8192) return null;
        if (await keys.VerifyAsync(credential, ct) is { } key)
            return new DashboardSession(key.Name, "api-key", credential, key.Scopes);
        if (credential.Count(c => c == '.') != 2) return null;

        await jwtKeys.GetAsync(ct);
        var options = jwt.Get(GatewaySchemes.Bearer);
        foreach (var handler in options.TokenHandlers)
        {
            var result = await handler.ValidateTokenAsync(credential, options.TokenValidationParameters);
            if (!result.IsValid) continue;
            var claims = result.ClaimsIdentity;
            var scopes = claims.FindAll(c => c.Type is "scope" or "scp")
                .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal).ToList();
            return new DashboardSession(claims.FindFirst("name")?.Value ?? claims.FindFirst("sub")?.Value ?? "token", "jwt", credential, scopes);
        }
        return null;
    }
}
