using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Platform.Gateway.Identity;
using Platform.TestSupport;

namespace Platform.Gateway.Tests;

/// <summary>
/// A gateway on 127.0.0.1:0 on the embedded runtime (temp data directory) in front of one tiny echo backend that
/// answers every path with what it received; every cluster points at it.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    public const string JwtIssuer = "https://issuer.test";
    public const string JwtAudience = "platform-api";
    public static readonly string JwtKey = Convert.ToBase64String(Encoding.UTF8.GetBytes("test-signing-key-of-at-least-32-bytes!!"));

    private WebApplication? _backend;
    private ServiceTestHost? _gateway;

    public string DataDir => _gateway!.DataDir;
    public string BackendUrl { get; private set; } = "";
    public string BackendH2cUrl { get; private set; } = "";
    public string Url => _gateway!.Url;
    public IServiceProvider Services => _gateway!.Services;
    public ApiKeyService Keys => Services.GetRequiredService<ApiKeyService>();
    public HttpClient Http { get; } = new();

    public static async Task<GatewayHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var host = new GatewayHost();
        await host.StartBackendAsync();
        await host.StartGatewayAsync(settings ?? new Dictionary<string, string?>(), configure);
        return host;
    }

    private async Task StartBackendAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        // HTTP/1.1 on the first address, cleartext HTTP/2 on the second, as a service with Internal:H2cPort listens.
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, 0);
            k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
        });
        builder.Logging.ClearProviders();
        _backend = builder.Build();
        _backend.Map("/{**rest}", async (HttpContext context) =>
        {
            long bodyBytes = 0;
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer)) > 0) bodyBytes += read;
            return Results.Json(new EchoReply(context.Request.Method, context.Request.Path,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), bodyBytes,
                context.Request.Protocol));
        });
        await _backend.StartAsync();
        var addresses = _backend.Addresses();
        BackendUrl = addresses[0];
        BackendH2cUrl = addresses[1];
    }

    private async Task StartGatewayAsync(IReadOnlyDictionary<string, string?> settings, Action<WebApplicationBuilder>? configure)
    {
        var config = new Dictionary<string, string?>
        {
            ["Gateway:Jwt:Issuer"] = JwtIssuer,
            ["Gateway:Jwt:Audience"] = JwtAudience,
            ["Gateway:Jwt:SigningKey"] = JwtKey,
            ["Gateway:Jwt:ClockSkew"] = "00:00:00",
        };
        var h2c = settings.TryGetValue("Gateway:BackendProtocol", out var protocol) && protocol == "h2c";
        foreach (var app in AppTopology.Services)
            config[$"ReverseProxy:Clusters:{app.AppId}:Destinations:primary:Address"] = h2c ? BackendH2cUrl : BackendUrl;
        foreach (var (k, v) in settings) config[k] = v;
        _gateway = await ServiceTestHost.StartAsync(GatewayService.Module, new ServiceTestOptions { Settings = config, Configure = configure });
    }

    public async Task<string> CreateKeyAsync(string tier = "standard", params string[] scopes) =>
        (await Keys.CreateAsync("test", tier, scopes)).Token;

    public HttpRequestMessage Request(HttpMethod method, string path, string? apiKey = null, string? bearer = null, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, Url + path) { Content = content };
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        if (bearer is not null) request.Headers.Authorization = new("Bearer", bearer);
        return request;
    }

    public static string Token(IEnumerable<string> scopes, TimeSpan? lifetime = null, string issuer = JwtIssuer, string audience = JwtAudience,
        string subject = "user-1", DateTime? notBefore = null)
    {
        var now = notBefore ?? DateTime.UtcNow;
        var expires = now + (lifetime ?? TimeSpan.FromMinutes(5));
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = expires,
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("scope", string.Join(' ', scopes))]),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(JwtKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_gateway is not null) await _gateway.DisposeAsync();
        if (_backend is not null) await _backend.DisposeAsync();
    }
}

public sealed record EchoReply(string Method, string Path, Dictionary<string, string> Headers, long BodyBytes, string Protocol);
