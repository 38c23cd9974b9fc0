namespace Platform.Monitoring;

/// <summary>Wires the monitoring service: its services, its subscriptions and its API.</summary>
public static class MonitoringService
{
    public static WebApplicationBuilder AddMonitoring(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapMonitoring(this WebApplication app)
    {
        return app;
    }
}
