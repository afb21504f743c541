<#
  .SYNOPSIS
  Quarantine or release this device.

  .DESCRIPTION
  Puts the device into network quarantine through the EDR service, or releases it.

  .NOTES
  Permissions (EDR API, application):
  - Machine.Isolate

  .INPUTS
  RunbookCustomization: {
    "Parameters": {
      "DeviceId": { "Hide": true },
      "Release": {
        "DisplayName": "Action",
        "SelectSimple": {
          "Quarantine device": false,
          "Release device": true
        }
      },
      "CallerName": { "Hide": true }
    }
  }
#>

#Requires -Modules @{ModuleName = "RealmJoin.RunbookHelper"; ModuleVersion = "0.8.5" }, ExchangeOnlineManagement

param(
  [Parameter(Mandatory = $true)]
  [string] $DeviceId,
  [Parameter(Mandatory = $true)]
  [bool] $Release = $false,
  [string] $QuarantineType = "Full",
  [System.DateTime] $Since = (get-date),
  [System.DateTime] $Until = ((get-date) + (new-timespan -Days 7)),
  [Parameter(Mandatory = $true)]
  [string] $Comment = "Possible security risk.",
  [Parameter(Mandatory = $true)]
  [string] $CallerName
)

$body = @{ Comment = $Comment }
if ($Release) { "## Releasing $DeviceId" } else { $body += @{ IsolationType = $QuarantineType } }
