// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WorkflowRegistry} from "./WorkflowRegistry.sol";
import {FeeEscrow} from "./FeeEscrow.sol";

/// @title ActionExecutor — performs a due workflow's action for a worker holding WORKER_ROLE,
/// advances the registry and charges the user's escrow.
/// @dev actionData is abi.encode(address target, bytes callData); empty actionData is a no-op run.
contract ActionExecutor {
    bytes32 public constant DEFAULT_ADMIN_ROLE = 0x00;
    bytes32 public constant WORKER_ROLE = keccak256("WORKER_ROLE");

    WorkflowRegistry public immutable registry;
    FeeEscrow public immutable escrow;
    mapping(bytes32 => mapping(address => bool)) private _roles;

    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);
    event WorkflowExecuted(
        uint256 indexed workflowId, address indexed user, address indexed worker, uint64 newNextRun, uint256 gasCharged
    );

    constructor(WorkflowRegistry registry_, FeeEscrow escrow_) {
        registry = registry_;
        escrow = escrow_;
        _roles[DEFAULT_ADMIN_ROLE][msg.sender] = true;
        emit RoleGranted(DEFAULT_ADMIN_ROLE, msg.sender, msg.sender);
    }

    function hasRole(bytes32 role, address account) public view returns (bool) {
        return _roles[role][account];
    }

    function grantRole(bytes32 role, address account) external {
        require(hasRole(DEFAULT_ADMIN_ROLE, msg.sender), "ActionExecutor: caller is not an admin");
        if (!_roles[role][account]) {
            _roles[role][account] = true;
            emit RoleGranted(role, account, msg.sender);
        }
    }

    function revokeRole(bytes32 role, address account) external {
        require(hasRole(DEFAULT_ADMIN_ROLE, msg.sender), "ActionExecutor: caller is not an admin");
        if (_roles[role][account]) {
            _roles[role][account] = false;
            emit RoleRevoked(role, account, msg.sender);
        }
    }

    function executeWorkflow(
        uint256 workflowId,
        bytes calldata actionData,
        uint64 newNextRun,
        address user,
        uint256 gasToCharge
    ) external {
        require(hasRole(WORKER_ROLE, msg.sender), "ActionExecutor: caller is not a worker");
        WorkflowRegistry.Workflow memory w = registry.getWorkflow(workflowId);
        require(w.active, "ActionExecutor: workflow is not active");
        require(w.user == user, "ActionExecutor: user mismatch");
        require(block.timestamp >= w.nextRun, "ActionExecutor: workflow not due");
        require(keccak256(actionData) == keccak256(w.actionData), "ActionExecutor: action data mismatch");
        require(gasToCharge <= w.gasBudget, "ActionExecutor: charge over gas budget");
        if (actionData.length > 0) {
            (address target, bytes memory callData) = abi.decode(actionData, (address, bytes));
            (bool ok, bytes memory ret) = target.call(callData);
            if (!ok) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
        registry.advance(workflowId, newNextRun);
        if (gasToCharge > 0) escrow.charge(user, gasToCharge, msg.sender);
        emit WorkflowExecuted(workflowId, user, msg.sender, newNextRun, gasToCharge);
    }
}
