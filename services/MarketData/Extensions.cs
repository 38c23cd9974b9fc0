namespace Platform.MarketData;

/// <summary>Wires the marketdata service: its services, its subscriptions and its API.</summary>
public static class MarketDataService
{
    public static WebApplicationBuilder AddMarketData(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapMarketData(this WebApplication app)
    {
        return app;
    }
}
