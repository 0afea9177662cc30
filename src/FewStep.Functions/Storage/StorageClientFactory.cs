using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;

namespace FewStep.Functions.Storage;

/// <summary>
/// The app's <see cref="BlobServiceClient"/>, from the same <c>AzureWebJobsStorage</c> setting the Functions host
/// uses: a connection string (Azurite: <c>UseDevelopmentStorage=true</c>), or the identity-based form
/// <c>AzureWebJobsStorage__blobServiceUri</c> (+ <c>__credential=managedidentity</c>, <c>__clientId</c> for a
/// user-assigned identity). Written here rather than with Microsoft.Extensions.Azure so that one setting, in
/// the host's own convention, configures both.
/// </summary>
public static class StorageClientFactory
{
    public const string SettingName = "AzureWebJobsStorage";

    public static BlobServiceClient Create(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = configuration[SettingName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new BlobServiceClient(connectionString);
        }

        var section = configuration.GetSection(SettingName);
        var serviceUri = section["blobServiceUri"] ?? (section["accountName"] is { Length: > 0 } account ? $"https://{account}.blob.core.windows.net" : null);
        if (serviceUri is null || !Uri.TryCreate(serviceUri, UriKind.Absolute, out var uri))
        {
            throw new InvalidOperationException(
                $"Storage is not configured: set {SettingName} to a connection string (UseDevelopmentStorage=true for Azurite), " +
                $"or {SettingName}__blobServiceUri (or {SettingName}__accountName) for a managed identity.");
        }

        return new BlobServiceClient(uri, CreateCredential(section));
    }

    private static TokenCredential CreateCredential(IConfigurationSection section)
    {
        var clientId = section["clientId"];
        return string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(string.IsNullOrEmpty(clientId) ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
    }
}
