using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Platform.Gateway.Identity;

/// <summary>Claim types the gateway puts on every principal, whichever way it authenticated.</summary>
public static class GatewayClaims
{
    /// <summary>Key id or token subject.</summary>
    public const string Id = "sub";
    /// <summary><c>api-key</c> or <c>jwt</c>.</summary>
    public const string Kind = "principal_kind";
    public const string Tier = "tier";
    public const string Name = "name";

    public static string? IdOf(ClaimsPrincipal user) => user.FindFirst(Id)?.Value;
    public static string KindOf(ClaimsPrincipal user) => user.FindFirst(Kind)?.Value ?? "unknown";
    public static string? TierOf(ClaimsPrincipal user) => user.FindFirst(Tier)?.Value;
}

/// <summary>
/// What the pipeline needs of an authenticated caller on every request (its bucket, its tier, the <c>X-Principal</c> value),
/// worked out once: an API key's when its record is cached, a token's from its claims.
/// </summary>
public sealed class GatewayCaller
{
    public GatewayCaller(string kind, string id, string? tier, IEnumerable<string> scopes)
    {
        Tier = tier;
        BucketKey = kind + ":" + id;
        Scopes = scopes.Distinct(StringComparer.Ordinal).ToArray();
        PrincipalHeader = $"{kind}:{id}; scopes={string.Join(' ', Scopes)}";
    }

    /// <summary>The caller's scopes, each once.</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>Whether the caller holds <paramref name="scope"/> or <c>admin</c> (as <see cref="Identity.Scopes.Has"/> on its principal).</summary>
    public bool Has(string scope)
    {
        foreach (var held in Scopes)
            if (held == scope || held == Identity.Scopes.Admin) return true;
        return false;
    }

    /// <summary>Null when the principal names none (the fallback tier applies).</summary>
    public string? Tier { get; }

    /// <summary><c>{kind}:{id}</c>: the caller's rate-limit bucket.</summary>
    public string BucketKey { get; }

    /// <summary>The <c>X-Principal</c> value the services receive.</summary>
    public string PrincipalHeader { get; }

    /// <summary>The caller <paramref name="user"/> stands for, or null when it is not an authenticated gateway principal.</summary>
    public static GatewayCaller? Of(ClaimsPrincipal user)
    {
        if (user.Identity is GatewayIdentity { IsAuthenticated: true } known) return known.Caller;
        return user.Identity?.IsAuthenticated == true && GatewayClaims.IdOf(user) is { } id
            ? new GatewayCaller(GatewayClaims.KindOf(user), id, GatewayClaims.TierOf(user), Identity.Scopes.Of(user))
            : null;
    }
}

/// <summary>
/// An API key's identity, carrying the caller worked out when the key's record was cached. Its claims are the record's,
/// copied in (each with this identity as its subject) when something first reads, changes, clones or copies them. A proxied
/// request mostly never does: the gateway needs only <see cref="Caller"/>, and the copies were most of what building the
/// identity cost. Every virtual member that touches the claims takes the copies first, and so does
/// <see cref="AuthenticationType"/>, which <c>new ClaimsIdentity(identity)</c> reads before it copies another identity's
/// claims.
/// </summary>
public sealed class GatewayIdentity : ClaimsIdentity
{
    private IEnumerable<Claim>? _pending;

    public GatewayIdentity(IEnumerable<Claim> claims, string authenticationType, GatewayCaller caller)
        : base(authenticationType, GatewayClaims.Name, null)
    {
        _pending = claims;
        Caller = caller;
    }

    public GatewayCaller Caller { get; }

    private void TakeClaims()
    {
        if (_pending is not { } claims) return;
        _pending = null;
        base.AddClaims(claims);
    }

    public override string? AuthenticationType { get { TakeClaims(); return base.AuthenticationType; } }
    public override IEnumerable<Claim> Claims { get { TakeClaims(); return base.Claims; } }
    public override void AddClaim(Claim claim) { TakeClaims(); base.AddClaim(claim); }
    public override void AddClaims(IEnumerable<Claim?> claims) { TakeClaims(); base.AddClaims(claims); }
    public override bool TryRemoveClaim(Claim? claim) { TakeClaims(); return base.TryRemoveClaim(claim); }
    public override void RemoveClaim(Claim? claim) { TakeClaims(); base.RemoveClaim(claim); }
    public override IEnumerable<Claim> FindAll(Predicate<Claim> match) { TakeClaims(); return base.FindAll(match); }
    public override IEnumerable<Claim> FindAll(string type) { TakeClaims(); return base.FindAll(type); }
    public override Claim? FindFirst(Predicate<Claim> match) { TakeClaims(); return base.FindFirst(match); }
    public override Claim? FindFirst(string type) { TakeClaims(); return base.FindFirst(type); }
    public override bool HasClaim(Predicate<Claim> match) { TakeClaims(); return base.HasClaim(match); }
    public override bool HasClaim(string type, string value) { TakeClaims(); return base.HasClaim(type, value); }
    public override ClaimsIdentity Clone() { TakeClaims(); return base.Clone(); }
    protected override void WriteTo(BinaryWriter writer, byte[]? userData) { TakeClaims(); base.WriteTo(writer, userData); }
}

public static class GatewaySchemes
{
    /// <summary>The default scheme: <c>X-Api-Key</c>, or, when it is absent, a bearer token (forwarded to <see cref="Bearer"/>).</summary>
    public const string ApiKey = "ApiKey";
    public const string Bearer = JwtBearerDefaults.AuthenticationScheme;
    public const string ApiKeyHeader = "X-Api-Key";
}

/// <summary>Authenticates <c>X-Api-Key</c> against <see cref="ApiKeyService"/>; absent header: no result (anonymous).</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyService keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(GatewaySchemes.ApiKeyHeader, out var values)) return AuthenticateResult.NoResult();
        if (values.Count != 1 || values[0] is not { Length: > 0 } presented) return AuthenticateResult.Fail("Exactly one X-Api-Key header is expected.");
        var principal = await keys.VerifyAsync(presented, Context.RequestAborted);
        if (principal is null) return AuthenticateResult.Fail("The API key is not valid.");
        var identity = new GatewayIdentity(principal.Claims, GatewaySchemes.ApiKey, principal.Caller);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), GatewaySchemes.ApiKey));
    }
}

/// <summary>
/// The framework's scheme provider, answering from tasks it completed once. ASP.NET Core asks for the request-handling
/// schemes, the default scheme and the scheme by name on every request, and the base class wraps each answer in a new task.
/// The answers are the base class's, taken together when first asked; adding or removing a scheme takes them again.
/// </summary>
public sealed class CachedSchemeProvider(IOptions<AuthenticationOptions> options) : AuthenticationSchemeProvider(options)
{
    private readonly Lock _gate = new();
    private volatile Answers? _answers;

    private sealed record Answers(
        Dictionary<string, Task<AuthenticationScheme?>> ByName, Task<IEnumerable<AuthenticationScheme>> All,
        Task<IEnumerable<AuthenticationScheme>> RequestHandlers, Task<AuthenticationScheme?> Authenticate, Task<AuthenticationScheme?> Challenge,
        Task<AuthenticationScheme?> Forbid, Task<AuthenticationScheme?> SignIn, Task<AuthenticationScheme?> SignOut);

    private static readonly Task<AuthenticationScheme?> None = Task.FromResult<AuthenticationScheme?>(null);

    /// <summary>
    /// The kept answers; null on the thread that is taking them or changing the schemes, which asks the base class (whose
    /// answers call these methods in turn).
    /// </summary>
    private Answers? Kept() => _gate.IsHeldByCurrentThread ? null : _answers ?? Take();

    private Answers Take()
    {
        lock (_gate)
        {
            if (_answers is { } taken) return taken;
            // The base class answers synchronously: its tasks are complete.
            var all = base.GetAllSchemesAsync().Result.ToArray();
            return _answers = new Answers(
                all.ToDictionary(s => s.Name, s => Task.FromResult<AuthenticationScheme?>(s), StringComparer.Ordinal),
                Task.FromResult<IEnumerable<AuthenticationScheme>>(all),
                Task.FromResult<IEnumerable<AuthenticationScheme>>(base.GetRequestHandlerSchemesAsync().Result.ToArray()),
                Task.FromResult(base.GetDefaultAuthenticateSchemeAsync().Result), Task.FromResult(base.GetDefaultChallengeSchemeAsync().Result),
                Task.FromResult(base.GetDefaultForbidSchemeAsync().Result), Task.FromResult(base.GetDefaultSignInSchemeAsync().Result),
                Task.FromResult(base.GetDefaultSignOutSchemeAsync().Result));
        }
    }

    public override Task<AuthenticationScheme?> GetSchemeAsync(string name) =>
        Kept() is { } kept ? kept.ByName.GetValueOrDefault(name) ?? None : base.GetSchemeAsync(name);

    public override Task<IEnumerable<AuthenticationScheme>> GetAllSchemesAsync() => Kept()?.All ?? base.GetAllSchemesAsync();
    public override Task<IEnumerable<AuthenticationScheme>> GetRequestHandlerSchemesAsync() => Kept()?.RequestHandlers ?? base.GetRequestHandlerSchemesAsync();
    public override Task<AuthenticationScheme?> GetDefaultAuthenticateSchemeAsync() => Kept()?.Authenticate ?? base.GetDefaultAuthenticateSchemeAsync();
    public override Task<AuthenticationScheme?> GetDefaultChallengeSchemeAsync() => Kept()?.Challenge ?? base.GetDefaultChallengeSchemeAsync();
    public override Task<AuthenticationScheme?> GetDefaultForbidSchemeAsync() => Kept()?.Forbid ?? base.GetDefaultForbidSchemeAsync();
    public override Task<AuthenticationScheme?> GetDefaultSignInSchemeAsync() => Kept()?.SignIn ?? base.GetDefaultSignInSchemeAsync();
    public override Task<AuthenticationScheme?> GetDefaultSignOutSchemeAsync() => Kept()?.SignOut ?? base.GetDefaultSignOutSchemeAsync();

    public override bool TryAddScheme(AuthenticationScheme scheme)
    {
        lock (_gate)
        {
            _answers = null;
            return base.TryAddScheme(scheme);
        }
    }

    public override void AddScheme(AuthenticationScheme scheme)
    {
        lock (_gate)
        {
            _answers = null;
            base.AddScheme(scheme);
        }
    }

    public override void RemoveScheme(string name)
    {
        lock (_gate)
        {
            _answers = null;
            base.RemoveScheme(name);
        }
    }
}

/// <summary><c>Gateway:Jwt:*</c>: who may issue bearer tokens for this gateway.</summary>
public sealed class GatewayJwtOptions
{
    public string? Issuer { get; set; }
    public string? Audience { get; set; }
    /// <summary>HMAC-SHA256 key, base64 or text, at least 32 bytes. Without one, every bearer token is refused.</summary>
    public string? SigningKey { get; set; }
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Rate-limit tier of a token without a <c>tier</c> claim.</summary>
    public string DefaultTier { get; set; } = "standard";

    public static byte[] KeyBytes(string key)
    {
        try
        {
            var decoded = Convert.FromBase64String(key);
            if (decoded.Length >= 32) return decoded;
        }
        catch (FormatException) { }
        return Encoding.UTF8.GetBytes(key);
    }
}

public static class GatewayAuthentication
{
    public static IServiceCollection AddGatewayAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        var jwt = configuration.GetSection("Gateway:Jwt").Get<GatewayJwtOptions>() ?? new GatewayJwtOptions();
        services.AddSingleton(jwt);
        services.AddSingleton<JwtSigningKeyProvider>();
        // The API key scheme is the default and hands a request without X-Api-Key but with a bearer token to the JWT scheme
        // (null: it handles the request itself), one handler fewer per request than a policy scheme in front of both.
        services.AddAuthentication(GatewaySchemes.ApiKey)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(GatewaySchemes.ApiKey, o => o.ForwardDefaultSelector = context =>
                !context.Request.Headers.ContainsKey(GatewaySchemes.ApiKeyHeader)
                && context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? GatewaySchemes.Bearer : null)
            .AddJwtBearer(GatewaySchemes.Bearer, o =>
            {
                o.MapInboundClaims = false;
                o.RequireHttpsMetadata = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidIssuer = jwt.Issuer ?? "platform",
                    ValidateAudience = true,
                    ValidAudience = jwt.Audience ?? "platform-api",
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    ValidateIssuerSigningKey = true,
                    ClockSkew = jwt.ClockSkew,
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    NameClaimType = "sub",
                };
                o.Events = new JwtBearerEvents
                {
                    // The key may live in the secret store: load it (once) before the token is validated.
                    OnMessageReceived = async context =>
                        await context.HttpContext.RequestServices.GetRequiredService<JwtSigningKeyProvider>().GetAsync(context.HttpContext.RequestAborted),
                    OnTokenValidated = context => { Normalize(context.Principal!, jwt.DefaultTier); return Task.CompletedTask; },
                };
            });
        services.Replace(ServiceDescriptor.Singleton<IAuthenticationSchemeProvider, CachedSchemeProvider>());
        services.AddOptions<JwtBearerOptions>(GatewaySchemes.Bearer).Configure<JwtSigningKeyProvider>((o, keys) =>
            // No key: nothing resolves, so every token fails signature validation.
            o.TokenValidationParameters.IssuerSigningKeyResolver = (_, _, _, _) => keys.Current is { } key ? [key] : []);
        return services;
    }

    /// <summary>Gives a token's principal the gateway's claims: one <c>scope</c> claim per scope (from <c>scope</c> or <c>scp</c>, space-separated or repeated), kind and tier.</summary>
    private static void Normalize(ClaimsPrincipal principal, string defaultTier)
    {
        if (principal.Identity is not ClaimsIdentity identity) return;
        var raw = identity.FindAll(c => c.Type is "scope" or "scp").ToList();
        foreach (var claim in raw) identity.RemoveClaim(claim);
        foreach (var scope in raw.SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal))
            identity.AddClaim(new Claim(Scopes.ClaimType, scope));
        identity.AddClaim(new Claim(GatewayClaims.Kind, "jwt"));
        if (identity.FindFirst(GatewayClaims.Tier) is null) identity.AddClaim(new Claim(GatewayClaims.Tier, defaultTier));
    }
}

/// <summary>
/// The HMAC key that verifies bearer tokens: <c>Gateway:Jwt:SigningKey</c> in configuration, otherwise the secret
/// <c>gateway-jwt-signing-key</c> from the secret store (read once). Neither: every bearer token is refused, and the log
/// says why.
/// </summary>
public sealed class JwtSigningKeyProvider(GatewayJwtOptions options, Platform.BuildingBlocks.Secrets.ISecretStore secrets, ILogger<JwtSigningKeyProvider> logger)
{
    private const int MinimumBytes = 32;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _loaded;

    public SecurityKey? Current { get; private set; }

    public async ValueTask GetAsync(CancellationToken ct)
    {
        if (_loaded) return;
        await _gate.WaitAsync(ct);
        try
        {
            if (_loaded) return;
            var text = options.SigningKey is { Length: > 0 } configured ? configured
                : await secrets.GetSecretAsync(Platform.Contracts.SecretNames.GatewayJwtSigningKey, ct);
            if (text is { Length: > 0 })
            {
                var key = GatewayJwtOptions.KeyBytes(text);
                if (key.Length < MinimumBytes)
                    throw new InvalidOperationException($"The JWT signing key ({Platform.Contracts.SecretNames.GatewayJwtSigningKey}) must hold at least {MinimumBytes} bytes.");
                Current = new SymmetricSecurityKey(key);
            }
            else
            {
                logger.LogWarning("No JWT signing key (Gateway:Jwt:SigningKey or the secret {Secret}): every bearer token is refused",
                    Platform.Contracts.SecretNames.GatewayJwtSigningKey);
            }
            _loaded = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
