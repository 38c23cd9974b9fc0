namespace Platform.Backtesting;

/// <summary>Wires the backtesting service: its services, its subscriptions and its API.</summary>
public static class BacktestingService
{
    public static WebApplicationBuilder AddBacktesting(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapBacktesting(this WebApplication app)
    {
        return app;
    }
}
