// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title WorkflowRegistry — recurring on-chain workflows (seed 001): who pays, what runs, when next.
/// @notice Users register workflows; only the ActionExecutor may advance a workflow's next run.
contract WorkflowRegistry {
    struct Workflow {
        address user;
        bytes actionData;
        uint64 interval;
        uint64 nextRun;
        uint128 gasBudget;
        bool active;
    }

    address public immutable owner;
    address public executor;
    uint256 public workflowCount;
    mapping(uint256 => Workflow) private _workflows;

    event ExecutorSet(address indexed executor);
    event WorkflowCreated(uint256 indexed id, address indexed user, uint64 interval, uint64 nextRun, uint128 gasBudget);
    event WorkflowAdvanced(uint256 indexed id, uint64 nextRun);
    event WorkflowCancelled(uint256 indexed id);

    constructor() {
        owner = msg.sender;
    }

    function setExecutor(address newExecutor) external {
        require(msg.sender == owner, "WorkflowRegistry: only owner");
        executor = newExecutor;
        emit ExecutorSet(newExecutor);
    }

    function createWorkflow(bytes calldata actionData, uint64 interval, uint64 firstRun, uint128 gasBudget)
        external
        returns (uint256 id)
    {
        require(interval > 0, "WorkflowRegistry: interval is zero");
        id = ++workflowCount;
        _workflows[id] = Workflow(msg.sender, actionData, interval, firstRun, gasBudget, true);
        emit WorkflowCreated(id, msg.sender, interval, firstRun, gasBudget);
    }

    function cancelWorkflow(uint256 id) external {
        require(_workflows[id].user == msg.sender, "WorkflowRegistry: not your workflow");
        _workflows[id].active = false;
        emit WorkflowCancelled(id);
    }

    /// @notice Moves a workflow's next run forward; only the executor, only forward.
    function advance(uint256 id, uint64 newNextRun) external {
        require(msg.sender == executor, "WorkflowRegistry: only executor");
        Workflow storage w = _workflows[id];
        require(newNextRun > w.nextRun, "WorkflowRegistry: next run must move forward");
        w.nextRun = newNextRun;
        emit WorkflowAdvanced(id, newNextRun);
    }

    function getWorkflow(uint256 id) external view returns (Workflow memory) {
        require(id > 0 && id <= workflowCount, "WorkflowRegistry: no such workflow");
        return _workflows[id];
    }

    /// @notice Active workflows due at `timestamp` among ids [start, start + count).
    function dueWorkflows(uint256 start, uint256 count, uint64 timestamp)
        external
        view
        returns (uint256[] memory ids, uint64[] memory nextRuns)
    {
        uint256 end = start + count;
        if (end > workflowCount + 1) end = workflowCount + 1;
        if (start == 0) start = 1;
        uint256 n;
        for (uint256 i = start; i < end; i++) {
            if (_workflows[i].active && _workflows[i].nextRun <= timestamp) n++;
        }
        ids = new uint256[](n);
        nextRuns = new uint64[](n);
        n = 0;
        for (uint256 i = start; i < end; i++) {
            if (_workflows[i].active && _workflows[i].nextRun <= timestamp) {
                ids[n] = i;
                nextRuns[n] = _workflows[i].nextRun;
                n++;
            }
        }
    }
}
