using Platform.Modeling.Models;

namespace Platform.Modeling.Tests;

/// <summary>A cancelled training run stops its fit between boosting rounds instead of running every round to the end.</summary>
public sealed class FitCancellationTests
{
    /// <summary>Far more rounds than the test could wait for: only a fit that honours the token ends in time.</summary>
    private static ModelSpec Endless(string kind) => kind == ModelKinds.XGBoost
        ? new ModelSpec(kind).With("num_boost_round", "1000000").With("early_stopping_rounds", "0").With("max_depth", "8")
        : new ModelSpec(kind).With("trees", "1000000").With("leaves", "64").With("min_leaf", "1");

    [Theory]
    [InlineData(ModelKinds.XGBoost)]
    [InlineData(ModelKinds.FastTree)]
    [InlineData(ModelKinds.LightGbm)]
    public async Task Fit_CancelledWhileBoosting_ThrowsOperationCanceled(string kind)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var data = Synthetic.Training(3000, 11) with { Cancellation = cancel.Token };

        // The wait is a bound on the test, not a measurement: an ignored token fits for hours. The fit runs on a thread of
        // its own, as the training service runs it (LongWork): the token's timer needs a pool thread to cancel it.
        var fit = Task.Factory.StartNew(() => ModelFactory.Fit(Endless(kind), data), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fit.WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Equal(cancel.Token, error.CancellationToken);
    }

    [Theory]
    [InlineData(ModelKinds.XGBoost)]
    [InlineData(ModelKinds.FastTree)]
    [InlineData(ModelKinds.Ridge)]
    public void Fit_TokenNotCancelled_FitsAsBefore(string kind)
    {
        using var cancel = new CancellationTokenSource();
        var data = Synthetic.Training(500, 3);

        using var withToken = ModelFactory.Fit(new ModelSpec(kind), data with { Cancellation = cancel.Token });
        using var without = ModelFactory.Fit(new ModelSpec(kind), data);

        var (x, _) = Synthetic.Regression(20, 4);
        Assert.Equal(without.Predict(x), withToken.Predict(x));
    }
}
