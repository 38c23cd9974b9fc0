using Platform.Backtesting.Engine.Modeling;
using Platform.Modeling.Datasets;
using Platform.Quant;
using Platform.Quant.Features;

namespace Platform.Backtesting.Engine.Strategies;

/// <summary>
/// Trades a registered model version, fixed for the whole run. Each symbol has its own calculator of the model's
/// feature set, fed the bars as they close; once it has warmed up, the model predicts from the features known at
/// that close, and the signal is long when the forecast is above the dead band (a return above
/// <c>threshold</c>, or a probability above 0.5 + threshold for direction models), short (when allowed) below the
/// negative band, flat in between. The engine fills a decision at the next bar's open, so a bar's features never
/// trade on that bar. Volatility models give no direction and are refused.
/// </summary>
public sealed class RegisteredModelStrategy : IStrategy
{
    private readonly LoadedModel _model;
    private IFeatureCalculator[] _calculators = [];
    private readonly float[] _row;
    private readonly double[] _values;

    public RegisteredModelStrategy(LoadedModel model, double threshold = 0.0)
    {
        if (!string.Equals(model.Target, "return", StringComparison.OrdinalIgnoreCase) && !string.Equals(model.Target, "direction", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{model.Label} forecasts {model.Target}, which gives no trading direction; use a return or direction model.", nameof(model));
        if (!(threshold >= 0)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The dead band must not be negative.");
        var set = FeatureSets.Get(model.FeatureSet);
        if (set.Hash != model.FeatureSetHash)
            throw new ArgumentException($"{model.Label} was trained on {model.FeatureSet} #{model.FeatureSetHash[..12]}, this build computes #{set.Hash[..12]}.", nameof(model));
        if (set.Count != model.Model.FeatureNames.Count)
            throw new ArgumentException($"{model.Label} takes {model.Model.FeatureNames.Count} features, {model.FeatureSet} has {set.Count}.", nameof(model));
        _model = model;
        Threshold = threshold;
        _row = new float[set.Count];
        _values = new double[set.Count];
    }

    public double Threshold { get; }
    public string Name => $"model({_model.Label}, threshold={Threshold})";
    public LoadedModel Model => _model;

    public void Initialize(IStrategyContext context) =>
        _calculators = context.Symbols.Select(_ => FeatureSets.CreateCalculator(_model.FeatureSet)).ToArray();

    public void OnBar(IStrategyContext context, int symbol, in Bar bar)
    {
        var calculator = _calculators[symbol];
        calculator.Update(bar, _values);
        if (!calculator.IsReady) return;
        for (var i = 0; i < _values.Length; i++) _row[i] = (float)_values[i];
        var forecast = _model.Model.Predict(new FeatureFrame((float[])_row.Clone(), 1, _model.Model.FeatureNames))[0];
        var edge = string.Equals(_model.Target, "direction", StringComparison.OrdinalIgnoreCase) ? forecast - 0.5 : forecast;
        context.SetSignal(symbol, edge > Threshold ? 1 : edge < -Threshold ? -1 : 0);
    }
}
