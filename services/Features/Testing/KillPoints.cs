using Platform.ServiceDefaults;

namespace Platform.Features.Testing;

/// <summary>
/// The points at which the process-kill suite (<c>tests/Features.Tests/Pipeline/FeaturesKillTests.cs</c>) can halt a batch of
/// streamed bars (<see cref="HaltPoints"/>, set with <c>Features:Testing:HaltAt</c>):
/// <list type="bullet">
/// <item><c>after-stores</c>: the batch's latest vectors are committed (its history rows are being written beside them); its
/// events and checkpoints not.</item>
/// <item><c>after-publish</c>: its events are published and its history rows committed too; the checkpoints (the commit
/// point) are not written.</item>
/// </list>
/// </summary>
public static class KillPoints
{
    public const string ConfigurationKey = "Features:Testing:HaltAt";
    public const string AfterStores = "after-stores";
    public const string AfterPublish = "after-publish";

    public static HaltPoints From(IConfiguration configuration) => HaltPoints.From(configuration, ConfigurationKey, [AfterStores, AfterPublish]);
}
