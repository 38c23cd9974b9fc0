using Platform.Backtesting.Engine;
using Platform.Backtesting.Engine.Strategies;
using Platform.Quant;

namespace Platform.Backtesting.Tests;

/// <summary>Small hand-made markets and a strategy that follows a script.</summary>
internal static class TestMarket
{
    public static readonly DateTimeOffset Start = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static Bar[] Daily(params (double O, double H, double L, double C, double V)[] rows) =>
        rows.Select((r, i) => new Bar(Start.AddDays(i), r.O, r.H, r.L, r.C, r.V)).ToArray();

    public static MarketSeries One(params (double O, double H, double L, double C, double V)[] rows) =>
        new([new SymbolSeries("TEST", Daily(rows))], BarInterval.OneDay);

    /// <summary>Flat bars at a price: open = high = low = close.</summary>
    public static (double, double, double, double, double) Flat(double price, double volume = 1_000_000) => (price, price, price, price, volume);
}

/// <summary>Submits the given orders when a symbol's bar with the given index closes.</summary>
internal sealed class ScriptedStrategy(params (int Bar, OrderRequest Order)[] script) : IStrategy
{
    private int[] _seen = [];

    public string Name => "scripted";
    public List<Order> Submitted { get; } = [];

    public void Initialize(IStrategyContext context) => _seen = new int[context.Symbols.Count];

    public void OnBar(IStrategyContext context, int symbol, in Bar bar)
    {
        var index = _seen[symbol]++;
        foreach (var (at, order) in script)
        {
            if (at == index && order.Symbol == symbol) Submitted.Add(context.Submit(order));
        }
    }
}
