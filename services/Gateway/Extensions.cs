using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Platform.Contracts;
using Platform.Gateway.Apis;
using Platform.Gateway.Dashboard;
using Platform.Gateway.Identity;
using Platform.Gateway.Limits;
using Platform.Gateway.OpenApi;
using Platform.Gateway.Pipeline;
using Platform.ServiceDefaults;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Transforms;

namespace Platform.Gateway;

/// <summary>
/// Wires the gateway: YARP routes from <c>gateway.routes.json</c> (overridable by configuration, e.g.
/// <c>ReverseProxy__Clusters__marketdata__Destinations__primary__Address</c>; in Kubernetes the destination is the gateway's
/// own Dapr sidecar and <c>Metadata:DaprAppId</c> names the app, see <see cref="DaprInvocation"/>), each with the scope it needs
/// as its authorization policy; API key and JWT authentication; per-caller rate limits by tier; request size limits;
/// correlation ids; <c>X-Principal</c>. It is the only listener users reach; the services behind it listen on loopback
/// (embedded) or behind a NetworkPolicy.
/// </summary>
public static class GatewayService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.Gateway, b => b.AddGateway(), a => a.MapGateway());

    public const string RoutesFile = "gateway.routes.json";

    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        // Loaded from the binaries' folder so the embedded host (whose content root is its own) finds it too.
        // Sources added later (environment, command line) still override it.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            Path = RoutesFile, Optional = false, ReloadOnChange = false,
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
        });
        var configuration = builder.Configuration;
        builder.Services.AddReverseProxy().LoadFromConfig(configuration.GetSection("ReverseProxy"))
            .AddConfigFilter<BackendProtocolFilter>().AddTransforms(DaprInvocation.Apply);

        builder.Services.Configure<ApiKeyOptions>(configuration.GetSection("Gateway:ApiKeys"));
        builder.Services.AddSingleton<PepperProvider>();
        builder.Services.AddSingleton<ApiKeyService>();
        builder.Services.AddGatewayAuthentication(configuration);
        builder.Services.AddAuthorization(Scopes.AddScopePolicies);
        // Proxied routes carry their policy as authorization metadata, which ProxyAccess enforces rather than the framework's
        // authorization middleware: routing would otherwise refuse to run them for want of that middleware. Every other
        // endpoint still passes through it (see ProxyAccess.UseGatewayAccess).
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteOptions>(o => o.SuppressCheckForUnhandledSecurityMetadata = true);
        builder.Services.AddSingleton<IAuthorizationHandler, ScopeAuthorizationHandler>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();

        builder.Services.AddSingleton(RateLimitOptions.From(configuration));
        builder.Services.AddSingleton<TierRateLimiter>();
        var clientLimits = new ClientLimitOptions();
        configuration.GetSection("Gateway:ClientLimits").Bind(clientLimits);
        builder.Services.AddSingleton(new ClientLimiter(clientLimits));
        builder.Services.AddGatewayOpenApi();
        // The gateway's listener is public: without a management port, its own metrics are for admins only.
        builder.Services.Configure<ServiceDefaultsOptions>(o => o.MetricsAuthorizationPolicy = Scopes.Admin);
        builder.AddDashboard();
        return builder;
    }

    public static WebApplication MapGateway(this WebApplication app)
    {
        ValidateRoutes(app.Services.GetRequiredService<IProxyConfigProvider>().GetConfig().Routes);
        var maxBody = app.Configuration.GetValue("Gateway:MaxRequestBodyBytes", RequestSizeLimit.DefaultBytes);
        app.UseCorrelationId();
        app.UseStripPrincipal();
        var managementPort = app.Configuration.GetValue<int?>("Management:Port");
        app.UseClientLimits(managementPort);
        app.UseRequestSizeLimit(maxBody);
        // Authentication, the spending of unauthenticated requests, authorization, the tier bucket and X-Principal.
        ProxyAccess.UseGatewayAccess(app, managementPort);
        app.MapKeysApi();
        // The single-service API's health route, for clients and probes written against it: the gateway's readiness.
        app.MapHealthChecks("/health", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapDashboard();
        app.MapReverseProxy(proxy =>
        {
            proxy.UseSessionAffinity();
            // Before load balancing, so a refused connection is balanced again over the remaining destinations.
            proxy.UseConnectFailover();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }

    /// <summary>Fails closed: a route without an authorization policy would be open to anyone.</summary>
    internal static void ValidateRoutes(IReadOnlyList<RouteConfig> routes)
    {
        var open = routes.Where(r => string.IsNullOrWhiteSpace(r.AuthorizationPolicy)).Select(r => r.RouteId).ToList();
        if (open.Count > 0)
            throw new InvalidOperationException(
                $"Gateway route(s) {string.Join(", ", open)} have no AuthorizationPolicy: name the scope they need, or 'anonymous' to open them deliberately.");
        var unknown = routes.Where(r => r.AuthorizationPolicy is { } p && !p.Equals("anonymous", StringComparison.OrdinalIgnoreCase)
            && !p.Equals("default", StringComparison.OrdinalIgnoreCase) && !Scopes.IsKnown(p)).Select(r => $"{r.RouteId} ({r.AuthorizationPolicy})").ToList();
        if (unknown.Count > 0)
            throw new InvalidOperationException($"Gateway route(s) {string.Join(", ", unknown)} name an unknown scope. Known: {string.Join(", ", Scopes.All)}.");
    }
}

/// <summary>
/// How a proxied request reaches its service. A cluster whose metadata names a <c>DaprAppId</c> goes through the
/// gateway's own sidecar: its requests are sent to the sidecar's HTTP port with the <c>dapr-app-id</c> header, and the
/// sidecar forwards them (mTLS, access control, resiliency, load balancing over the app's replicas) to that app, path and
/// query unchanged; the target's sidecar adds the app token. Any other cluster is the service itself (embedded host,
/// <c>dapr run -f .</c>): with <c>APP_API_TOKEN</c> set, the gateway presents it in <c>dapr-api-token</c> as a sidecar
/// would. A caller's own <c>dapr-app-id</c> or <c>dapr-api-token</c> is never forwarded.
/// </summary>
public static class DaprInvocation
{
    public const string AppIdMetadata = "DaprAppId";
    public const string AppIdHeader = "dapr-app-id";
    public const string TokenHeader = "dapr-api-token";

    public static void Apply(Yarp.ReverseProxy.Transforms.Builder.TransformBuilderContext context)
    {
        var appId = context.Cluster?.Metadata?.GetValueOrDefault(AppIdMetadata);
        var token = string.IsNullOrEmpty(appId) ? context.Services.GetRequiredService<IConfiguration>()["APP_API_TOKEN"] : null;
        context.AddRequestTransform(transform =>
        {
            var headers = transform.ProxyRequest.Headers;
            headers.Remove(AppIdHeader);
            headers.Remove(TokenHeader);
            if (!string.IsNullOrEmpty(appId)) headers.TryAddWithoutValidation(AppIdHeader, appId);
            else if (!string.IsNullOrEmpty(token)) headers.TryAddWithoutValidation(TokenHeader, token);
            return ValueTask.CompletedTask;
        });
    }
}
