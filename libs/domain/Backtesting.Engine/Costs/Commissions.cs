namespace Platform.Backtesting.Engine.Costs;

/// <summary>
/// Commission of an order as a function of what has filled so far. A fill is charged
/// <c>Total(after) − Total(before)</c>, so per-order terms (a minimum, a fixed fee) are charged once per
/// order however many partial fills it takes, and the sum over fills always equals the order's total.
/// </summary>
public interface ICommissionModel
{
    string Name { get; }

    /// <summary>Total commission of an order that has filled <paramref name="shares"/> (absolute) for a traded value of <paramref name="value"/>.</summary>
    double Total(long shares, double value);
}

public sealed class NoCommission : ICommissionModel
{
    public static readonly NoCommission Instance = new();
    public string Name => "none";
    public double Total(long shares, double value) => 0;
}

/// <summary>A rate per share with a minimum per order (Interactive Brokers' fixed schedule: 0.005 per share, minimum 1.00).</summary>
public sealed class PerShareCommission : ICommissionModel
{
    public PerShareCommission(double perShare, double minimumPerOrder = 0)
    {
        if (!(perShare >= 0)) throw new ArgumentOutOfRangeException(nameof(perShare), perShare, "The rate per share must not be negative.");
        if (!(minimumPerOrder >= 0)) throw new ArgumentOutOfRangeException(nameof(minimumPerOrder), minimumPerOrder, "The minimum must not be negative.");
        PerShare = perShare;
        MinimumPerOrder = minimumPerOrder;
    }

    public double PerShare { get; }
    public double MinimumPerOrder { get; }
    public string Name => $"per-share {PerShare} (min {MinimumPerOrder})";
    public double Total(long shares, double value) => shares == 0 ? 0 : Math.Max(MinimumPerOrder, PerShare * shares);
}

/// <summary>A fraction of traded value (0.001 = 10 bp).</summary>
public sealed class PercentOfValueCommission : ICommissionModel
{
    public PercentOfValueCommission(double rate)
    {
        if (!(rate >= 0 && rate <= 1)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "The rate is a fraction of value between 0 and 1.");
        Rate = rate;
    }

    public double Rate { get; }
    public string Name => $"percent {Rate:P3}";
    public double Total(long shares, double value) => Rate * value;
}

/// <summary>A flat fee per order, charged on its first fill.</summary>
public sealed class FixedPerOrderCommission : ICommissionModel
{
    public FixedPerOrderCommission(double amount)
    {
        if (!(amount >= 0)) throw new ArgumentOutOfRangeException(nameof(amount), amount, "The fee must not be negative.");
        Amount = amount;
    }

    public double Amount { get; }
    public string Name => $"fixed {Amount} per order";
    public double Total(long shares, double value) => shares == 0 ? 0 : Amount;
}
