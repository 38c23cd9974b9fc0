using System.Diagnostics;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
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
    /// <summary>Meter names every service exports besides the ASP.NET Core and HttpClient instrumentation.</summary>
    public static readonly string[] Meters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing", "System.Net.Http"];

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
        });
        builder.Services.AddOpenApi();
        builder.Services.AddHealthChecks()
            .AddCheck<StateStoreHealthCheck>("statestore", tags: ["ready"]);

        builder.Logging.ClearProviders();
        if (builder.Configuration["Logging:Format"] == "text")
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        else
            builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);

        var otlp = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(app.AppId, serviceVersion: Version))
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddMeter(Meters).AddMeter(PlatformMeters);
                // Every histogram in seconds (HTTP server and client, the platform's own) gets buckets from 0.5 ms to 10 s.
                metrics.AddView(instrument => instrument.Unit == "s" && instrument is System.Diagnostics.Metrics.Histogram<double>
                    ? new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets }
                    : null);
                metrics.AddPrometheusExporter();
                if (!string.IsNullOrEmpty(otlp)) metrics.AddOtlpExporter();
            })
            .WithTracing(tracing =>
            {
                // W3C traceparent in and out of every HTTP call (gateway to service, service to sidecar).
                tracing.AddAspNetCoreInstrumentation(o => o.Filter = context => !IsManagementPath(context.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddSource(Platform.BuildingBlocks.PubSub.PubSubTelemetry.SourceName);
                if (!string.IsNullOrEmpty(otlp)) tracing.AddOtlpExporter();
            });
        return builder;
    }

    public static string Version { get; } =
        typeof(ServiceDefaultsExtensions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.UseManagementPort();
        app.UseAppToken();
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapPrometheusScrapingEndpoint("/metrics");
        var info = app.Services.GetRequiredService<AppInfo>();
        app.MapGet("/version", () => Results.Ok(new { app = info.AppId, version = Version, runtime = app.Services.GetRequiredService<RuntimeSettings>().Mode.ToString().ToLowerInvariant() }))
            .WithName("GetVersion").WithSummary("The service's app id, version and runtime.");
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
    /// With <c>APP_API_TOKEN</c> set (Kubernetes: the secret of <c>dapr.io/app-token-secret</c>), a service answers only
    /// calls carrying it in <c>dapr-api-token</c>, which only its own sidecar adds: service invocations that Dapr's access
    /// control admitted and pub/sub deliveries. Probes (<c>/health/*</c>) and the scrape stay open. The gateway, whose
    /// callers are the Ingress's, does not check it.
    /// </summary>
    private static void UseAppToken(this WebApplication app)
    {
        var token = app.Configuration["APP_API_TOKEN"];
        if (string.IsNullOrEmpty(token) || app.Services.GetRequiredService<AppInfo>().AppId == AppTopology.Gateway.AppId) return;
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (IsManagementPath(path) || path.Equals("/healthz", StringComparison.OrdinalIgnoreCase)
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
