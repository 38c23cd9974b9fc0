using Xunit.Abstractions;
using Xunit.Sdk;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>
/// A fact of a semantics suite. It runs like <see cref="FactAttribute"/>, except in a suite class marked
/// <see cref="RequiresDockerEngineAttribute"/> on a machine without a Docker engine: there it is reported Skipped with
/// the reason, never passed.
/// </summary>
[XunitTestCaseDiscoverer("Platform.BuildingBlocks.Tests.Semantics.SemanticsFactDiscoverer", "BuildingBlocks.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class SemanticsFactAttribute : FactAttribute;

/// <summary>The theory counterpart of <see cref="SemanticsFactAttribute"/>.</summary>
[XunitTestCaseDiscoverer("Platform.BuildingBlocks.Tests.Semantics.SemanticsTheoryDiscoverer", "BuildingBlocks.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class SemanticsTheoryAttribute : TheoryAttribute;

/// <summary>The suite needs containers (Kafka, Redis, daprd): its tests are skipped where no Docker engine answers.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresDockerEngineAttribute : Attribute;

internal static class EnvironmentRequirements
{
    public static string? SkipReason(ITestMethod method) =>
        method.TestClass.Class.GetCustomAttributes(typeof(RequiresDockerEngineAttribute)).Any() ? Containers.DockerEngine.Unavailable() : null;

    public static IXunitTestCase Skipped(IMessageSink sink, ITestFrameworkDiscoveryOptions options, ITestMethod method, string reason) =>
        new XunitSkippedDataRowTestCase(sink, options.MethodDisplayOrDefault(), options.MethodDisplayOptionsOrDefault(), method, reason);
}

public sealed class SemanticsFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(
        ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        EnvironmentRequirements.SkipReason(testMethod) is { } reason
            ? [EnvironmentRequirements.Skipped(DiagnosticMessageSink, discoveryOptions, testMethod, reason)]
            : base.Discover(discoveryOptions, testMethod, factAttribute);
}

public sealed class SemanticsTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(
        ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        EnvironmentRequirements.SkipReason(testMethod) is { } reason
            ? [EnvironmentRequirements.Skipped(DiagnosticMessageSink, discoveryOptions, testMethod, reason)]
            : base.Discover(discoveryOptions, testMethod, theoryAttribute);
}
