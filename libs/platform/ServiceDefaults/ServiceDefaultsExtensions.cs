using System.Diagnostics;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
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
    /// <summary>Meter names every service exports; services add their own meters under "Platform.*".</summary>
    public static readonly string[] Meters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing", "System.Net.Http"];

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

        var prometheus = new PrometheusMetrics();
        builder.Services.AddSingleton(prometheus);
        var otlp = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        builder.Services.AddSingleton(_ => OpenTelemetrySdk.Create(otel =>
        {
            otel.ConfigureResource(r => r.AddService(app.AppId, serviceVersion: Version));
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(Meters).AddMeter("Platform.*").AddReader(prometheus.Reader);
                metrics.AddView("http.server.request.duration", new ExplicitBucketHistogramConfiguration
                {
                    Boundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
                });
                if (!string.IsNullOrEmpty(otlp)) metrics.AddOtlpExporter();
            });
            if (!string.IsNullOrEmpty(otlp))
                otel.WithTracing(tracing => tracing.AddSource("Microsoft.AspNetCore", "Platform.*").AddOtlpExporter());
        }));
        return builder;
    }

    public static string Version { get; } =
        typeof(ServiceDefaultsExtensions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        _ = app.Services.GetRequiredService<OpenTelemetrySdk>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapGet("/metrics", (PrometheusMetrics metrics) => Results.Text(metrics.Scrape(), "text/plain; version=0.0.4"))
            .ExcludeFromDescription();
        var info = app.Services.GetRequiredService<AppInfo>();
        app.MapGet("/version", () => Results.Ok(new { app = info.AppId, version = Version, runtime = app.Services.GetRequiredService<RuntimeSettings>().Mode.ToString().ToLowerInvariant() }))
            .WithName("GetVersion").WithSummary("The service's app id, version and runtime.");
        app.MapOpenApi();
        if (app.Services.GetRequiredService<RuntimeSettings>().Mode == RuntimeMode.Dapr) app.MapDaprEndpoints();
        return app;
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
