using Platform.Contracts;
using Platform.ServiceDefaults;

namespace Platform.Monitoring;

/// <summary>Wires the monitoring service: its services, its subscriptions and its API.</summary>
public static class MonitoringService
{
    /// <summary>The service's composition: its own Program, the embedded host and the test host build it.</summary>
    public static ServiceModule Module { get; } = new(AppTopology.Monitoring, b => b.AddMonitoring(), a => a.MapMonitoring());

    public static WebApplicationBuilder AddMonitoring(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapMonitoring(this WebApplication app)
    {
        return app;
    }
}
