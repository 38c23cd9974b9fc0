using Platform.Deployment.Tests.Infrastructure;

namespace Platform.Deployment.Tests.Terraform;

public sealed class TerraformTests
{
    private static readonly string[] Modules = ["network", "cluster", "postgres", "kafka", "redis", "registry", "argocd-bootstrap"];

    [Fact]
    public void Validate_RepositoryTerraform_ParsesAndPassesChecks()
    {
        var report = Validator.Terraform(Repository.PathOf("terraform"));

        Assert.True(report.Passed, report.Describe());
        var files = Directory.GetFiles(Repository.PathOf("terraform"), "*.tf*", SearchOption.AllDirectories);
        Assert.Equal(files.Length, report.Checked);
        foreach (var module in Modules)
        {
            Assert.True(File.Exists(Repository.PathOf("terraform", "modules", module, "variables.tf")), module);
            Assert.True(File.Exists(Repository.PathOf("terraform", "modules", module, "outputs.tf")), module);
        }

        foreach (var environment in Repository.Environments)
        {
            Assert.True(File.Exists(Repository.PathOf("terraform", "envs", environment, "backend.tf")), environment);
        }
    }

    [Theory]
    [InlineData("modules/redis/main.tf", "auth_token                 = random_password.auth.result", "auth_token                 = \"hunter2-hunter2\"", "auth_token: literal secret value")]
    [InlineData("modules/postgres/main.tf", "\"Password=${random_password.app[app].result}\"", "\"Password=${\"x\"}\",\n      jsonencode({ password = \"hunter2\" })", "literal secret value for \"password\"")]
    [InlineData("modules/network/variables.tf", "  description = \"IPv4 CIDR block of the VPC.\"\n", "", "variable \"cidr_block\" has no description")]
    [InlineData("modules/registry/variables.tf", "  type        = list(string)\n", "", "variable \"services\" has no type")]
    [InlineData("envs/prod/versions.tf", "version = \"~> 5.98\"", "version = \">= 5.0\"", "provider \"aws\" version is not pinned")]
    [InlineData("envs/staging/backend.tf", "backend \"s3\"", "backend \"local\"", "backend is local")]
    [InlineData("envs/staging/backend.tf", "key          = \"market-platform/staging/terraform.tfstate\"", "key          = \"market-platform/prod/terraform.tfstate\"", "is shared with envs/")]
    [InlineData("modules/kafka/main.tf", "resource \"aws_msk_cluster\" \"this\" {", "resource \"aws_msk_cluster\" \"this\" {{", "does not parse")]
    public void Validate_TerraformWithDefect_ReportsIt(string file, string from, string to, string expected)
    {
        var report = Validator.EditedTerraform(file, from, to);

        Assert.False(report.Passed);
        Assert.Contains(report.Errors, e => e.Message.Contains(expected));
    }

    [Fact]
    public void Validate_EnvironmentWithoutBackend_ReportsIt()
    {
        using var copy = TempCopy.Of(["terraform"]);
        File.Delete(copy.PathOf("terraform/envs/dev/backend.tf"));

        var report = Validator.Terraform(copy.PathOf("terraform"));

        var error = Assert.Single(report.Errors);
        Assert.Equal(new ValidationError("envs/dev", "expected one backend block, found 0"), error);
    }
}
