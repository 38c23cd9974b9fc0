namespace Platform.Gateway.Dashboard;

/// <summary>One candle as the chart draws it: time in Unix seconds (UTC), prices, volume.</summary>
public sealed record Candle(long Time, double Open, double High, double Low, double Close, double Volume);

public static class Candles
{
    /// <summary>
    /// At most <paramref name="max"/> candles for a series of any length: consecutive runs of
    /// <c>ceil(count / max)</c> bars become one candle (first open, highest high, lowest low, last close, summed volume,
    /// stamped with the run's first time), so a 20-year daily or a month of minute bars reaches the browser as a
    /// screen's worth of candles with every high and low kept. Shorter series pass unchanged.
    /// </summary>
    public static IReadOnlyList<Candle> Downsample(IReadOnlyList<Candle> bars, int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        if (bars.Count <= max) return bars;
        var size = (bars.Count + max - 1) / max;
        var result = new List<Candle>((bars.Count + size - 1) / size);
        for (var start = 0; start < bars.Count; start += size)
        {
            var end = Math.Min(start + size, bars.Count);
            double high = double.MinValue, low = double.MaxValue, volume = 0;
            for (var i = start; i < end; i++)
            {
                high = Math.Max(high, bars[i].High);
                low = Math.Min(low, bars[i].Low);
                volume += bars[i].Volume;
            }
            result.Add(new Candle(bars[start].Time, bars[start].Open, high, low, bars[end - 1].Close, volume));
        }
        return result;
    }

    /// <summary>The simple moving average of closes over <paramref name="period"/> bars; null until enough bars have closed.</summary>
    public static double?[] Sma(IReadOnlyList<Candle> bars, int period)
    {
        var result = new double?[bars.Count];
        double sum = 0;
        for (var i = 0; i < bars.Count; i++)
        {
            sum += bars[i].Close;
            if (i >= period) sum -= bars[i - period].Close;
            if (i >= period - 1) result[i] = sum / period;
        }
        return result;
    }
}
