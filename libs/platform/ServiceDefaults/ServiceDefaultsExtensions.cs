using System.Diagnostics;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.ServiceDefaults;

/// <summary>What every service gets: the runtime's ports, health, problem details, OpenAPI, telemetry and logs.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// The framework meters every service exports: the HTTP server (requests, durations), Kestrel (connections), routing,
    /// unhandled exceptions, and the HTTP client with its name resolution. Named here rather than taken from the OpenTelemetry
    /// ASP.NET Core instrumentation's list, which on .NET 10 also takes Kestrel's memory pool (measured on every buffer rented
    /// and returned), authentication, authorization, rate limiting, SignalR, Blazor and Identity: none of them is on a
    /// dashboard or an alert here, and together they cost the gateway about 5 us of CPU per proxied request (docs/gateway.md).
    /// </summary>
    public static readonly string[] Meters =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Diagnostics",
        "System.Net.Http", "System.Net.NameResolution",
    ];

    /// <summary>The platform's own meters: every <c>new Meter("Platform.…")</c> in the services and libraries.</summary>
    public const string PlatformMeters = "Platform.*";

    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The header a Dapr sidecar sends its app when the app token is set (<c>dapr.io/app-token-secret</c>).</summary>

    private static bool IsManagementPath(PathString path) => path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health");

    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, AppInfo app)
    {
        var settings = RuntimeSettings.From(builder.Configuration, app.AppId);
        builder.Services.AddSingleton(app);
        builder.Services.AddBuildingBlocks(settings, builder.Configuration);

        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Extensions["traceId"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            // The framework answers a body of the wrong media type with a bare 415: say which type was refused.
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType)
                context.ProblemDetails.Detail ??=
                    $"Content-Type '{context.HttpContext.Request.ContentType ?? "(none)"}' is not accepted here; send JSON bodies as application/json in UTF-8.";
        });
        // A body that breaks off or overruns its limit while the app reads it is the client's error, not a 500.
        builder.Services.Configure<ExceptionHandlerOptions>(o =>
            o.StatusCodeSelector = ex => ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError);
        // A body or parameter the framework cannot bind throws, so BadRequestProblems can say what was wrong.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<BadRequestProblems>();
        builder.AddKestrelDefaults();
        builder.Services.AddOpenApi();
        builder.Services.AddHealthChecks()
            .AddCheck<StateStoreHealthCheck>("statestore", tags: ["ready"]);

        builder.Logging.ClearProviders();
        if (builder.Configuration["Logging:Format"] == "text")
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        else
            builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);

        var otlp = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(app.AppId, serviceVersion: Version))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Meters).AddMeter(PlatformMeters);
                // Every histogram in seconds (HTTP server and client, the platform's own) gets buckets from 0.5 ms to 10 s.
                metrics.AddView(instrument => instrument.Unit == "s" && instrument is System.Diagnostics.Metrics.Histogram<double>
                    ? new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets }
                    : null);
                metrics.AddPrometheusExporter();
                if (!string.IsNullOrEmpty(otlp)) metrics.AddOtlpExporter();
            });
        // Spans are recorded only when they go somewhere. Without an exporter, ASP.NET Core still starts its request
        // activity (logs and problem details carry its trace id) and W3C traceparent still flows in and out of HTTP
        // calls and pub/sub events; only the per-request span recording, which nobody would read, is left out.
        if (!string.IsNullOrEmpty(otlp))
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsManagementPath(context.Request.Path))
                .AddHttpClientInstrumentation()
                .AddSource(Platform.BuildingBlocks.PubSub.PubSubTelemetry.SourceName)
                .AddOtlpExporter());
        }
        return builder;
    }

    /// <summary>The informational version: the release, then <c>+</c> and the commit when the build knew it.</summary>
    public static string Version { get; } =
        typeof(ServiceDefaultsExtensions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The release without the commit: what an anonymous caller of <c>/version</c> is told.</summary>
    public static string Release { get; } = Version.Split('+')[0];

    /// <summary>The commit the build recorded, if any.</summary>
    public static string? Commit { get; } = Version.Split('+') is [_, var commit, ..] && commit.Length > 0 ? commit : null;

    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.UseRequestTracking();
        app.UseManagementPort();
        app.UseAppToken();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseUtf8JsonBodies();

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        var metrics = app.MapPrometheusScrapingEndpoint("/metrics");
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ServiceDefaultsOptions>>().Value;
        if (app.Configuration.GetValue<int?>("Management:Port") is null && options.MetricsAuthorizationPolicy is { } policy)
            metrics.RequireAuthorization(policy);
        var info = app.Services.GetRequiredService<AppInfo>();
        var runtime = app.Services.GetRequiredService<RuntimeSettings>().Mode.ToString().ToLowerInvariant();
        app.MapGet("/version", (HttpContext context) => TypedResults.Ok(
                new VersionInfo(info.AppId, Release, context.User.Identity?.IsAuthenticated == true ? Commit : null, runtime)))
            .WithName("GetVersion")
            .WithSummary("The service's app id, release and runtime; the commit only for an authenticated caller.");
        app.MapOpenApi();
        if (app.Services.GetRequiredService<RuntimeSettings>().Mode == RuntimeMode.Dapr) app.MapDaprEndpoints();
        return app;
    }

    /// <summary>
    /// With <c>Management:Port</c> set, <c>/metrics</c> answers on that port only, and that port answers nothing but
    /// <c>/metrics</c> and <c>/health/*</c>: Prometheus gets a port of its own that no Service or Ingress routes to, and
    /// a NetworkPolicy can admit the observability namespace to it alone. The local port decides, not the Host header.
    /// </summary>
    private static void UseManagementPort(this WebApplication app)
    {
        if (app.Configuration.GetValue<int?>("Management:Port") is not int port) return;
        app.Use((context, next) =>
        {
            var onManagement = context.Connection.LocalPort == port;
            var path = context.Request.Path;
            var allowed = onManagement ? IsManagementPath(path) : !path.StartsWithSegments("/metrics");
            if (allowed) return next(context);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }

    /// <summary>
    /// With <c>APP_API_TOKEN</c> set (Kubernetes: the secret of <c>dapr.io/app-token-secret</c>; the embedded host: a token
    /// drawn per run), a service answers only calls carrying it in <c>dapr-api-token</c>, which only its own sidecar (or,
    /// embedded, the gateway) adds: service invocations that Dapr's access control admitted and pub/sub deliveries, on
    /// loopback too. Probes (<c>/health/*</c>) stay open, and so does <c>/metrics</c> when it answers on the management port
    /// only; without a management port the scrape needs the token like any other call. The gateway, whose callers are
    /// the Ingress's, does not check it.
    /// </summary>
    private static void UseAppToken(this WebApplication app)
    {
        var token = app.Configuration["APP_API_TOKEN"];
        if (string.IsNullOrEmpty(token) || app.Services.GetRequiredService<AppInfo>().AppId == AppTopology.Gateway.AppId) return;
        var metricsOnManagementPort = app.Configuration.GetValue<int?>("Management:Port") is not null;
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (path.StartsWithSegments("/health") || (metricsOnManagementPort && path.StartsWithSegments("/metrics"))
                || path.Equals("/healthz", StringComparison.OrdinalIgnoreCase)
                || DaprAppTokenMiddleware.HasToken(context.Request, token))
            {
                await next(context);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await Results.Problem(statusCode: 401, title: "Unauthorized",
                detail: "This service answers its Dapr sidecar only (the dapr-api-token header is missing or wrong).").ExecuteAsync(context);
        });
    }
}

/// <summary>What <c>/version</c> answers.</summary>
public sealed record VersionInfo(
    string App, string Version,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Commit,
    string Runtime);

/// <summary>Choices a service makes about the endpoints every service gets.</summary>
public sealed class ServiceDefaultsOptions
{
    /// <summary>
    /// The authorization policy <c>/metrics</c> needs when there is no management port (the gateway: <c>admin</c>, since its
    /// listener is public). Null: no policy (the internal services, behind their app token).
    /// </summary>
    public string? MetricsAuthorizationPolicy { get; set; }
}

/// <summary>Ready only when the app's private state store answers.</summary>
public sealed class StateStoreHealthCheck(IStateStoreProvider stores) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await stores.PrivateStore().GetAsync("health-probe", ct);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("The state store is not reachable: " + ex.Message, ex);
        }
    }
}
